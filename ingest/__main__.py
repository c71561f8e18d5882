"""`python -m ingest [--corpus DIR]`: (re)build the index from corpus/."""

import sys

from tsunagari.cli import main

raise SystemExit(main(["ingest", *sys.argv[1:]]))
