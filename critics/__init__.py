"""Critics: models that score how plausible a (context, continuation) phrase is."""
