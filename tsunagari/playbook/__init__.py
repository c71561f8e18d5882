"""手引きをつくる: a memo for a municipality's profile, built from the report's cases and points.

- `profile`: the profile (all optional) and its validation; cheap to import (the CLI's --help).
- `memo`: `build_memo(retriever, profile)` → `Memo` → `Section` per point → `CasePick`s.
- `render`: the memo as Markdown, JSON and Word (.docx with real footnotes).
"""
