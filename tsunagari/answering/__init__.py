"""Answering: a question → retrieved passages → a cited answer, offline.

`question` validates input, `followup` resolves references to earlier turns, `retrieve` runs
hybrid BM25 + dense search, `scope` decides when the reports do not cover a question,
`extractive` quotes cited sentences, `citations` renders citations (Markdown, footnotes, prompt
headers) from data, and `contract` is the stable JSON of an answer.
"""
