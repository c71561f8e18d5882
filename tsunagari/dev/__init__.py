"""Developer tools that check the library itself (not used by the app or the CLI)."""
