"""The Streamlit side: helpers that the pages in views/ call.

`state` is the only module here that imports Streamlit (cached service, session state, ingest with
progress); `html` (escaping, answer HTML, source cards), `catalog` (filters, case list), `status`
(index and eval status texts), `feedback` (SQLite store) and `export` (Markdown, Word) are pure.
"""
