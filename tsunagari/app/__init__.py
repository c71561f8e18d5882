"""The Streamlit side: helpers that the pages in views/ call.

`state` and `signin` are the only modules here that import Streamlit (`state`: cached service,
session state, ingest with progress; `signin`: maintainer sign-in read from st.user, the request
headers and the session). `auth` (who is a maintainer: password hash, throttle, tokens), `audit`
(the log of maintainer actions), `html` (escaping, answer HTML, source cards), `catalog`
(filters, case list), `status` (index and eval status texts), `feedback` (SQLite store) and
`export` (Markdown, Word) are pure.
"""
