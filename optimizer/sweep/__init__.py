"""Batch sweeps: a grid of case overrides solved case by case (processes or Dask), kept as one
record per case and combined into one Dataset."""
