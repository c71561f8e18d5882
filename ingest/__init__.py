"""Entry point package for `python -m ingest` (a thin wrapper over tsunagari)."""
