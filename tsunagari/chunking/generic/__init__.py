"""The profile of every other report: layout, generic structure, page/paragraph-based packs."""
