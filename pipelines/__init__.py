"""Pure polars transformations from validated feeds to indicators and signals (no I/O)."""
