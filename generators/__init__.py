"""Generators: models that continue a phrase context, behind one interface and a registry."""
