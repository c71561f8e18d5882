"""Evaluation: the QA set run through each system (`runner`, `systems`), pure metrics
(`metrics`), an LLM judge (`judge`) and the benchmarks (`bench`, `benchdata`)."""
