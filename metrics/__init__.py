"""Metrics: pure functions over notes or token arrays (no I/O, no MLflow, no model loading)."""
