"""Evaluation helpers for tsunagari: the QA set's metrics (retrieval, citations, answers, abstention)."""
