"""Entry point for `python -m tsunagari`."""

from tsunagari.cli import main

raise SystemExit(main())
