"""Entry point package for `python -m eval` (a thin wrapper over tsunagari.evaluation)."""
