"""Manifests: the CSV/Parquet tables that list what a run should produce, validated row by row."""
