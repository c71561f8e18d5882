"""Indexing: chunks → the on-disk index, refreshed cheaply and crash-safely.

`store` owns data_dir (chunk store, manifest, atomic writes), `vectors` the Chroma collections and
LangChain's record manager, `refresh` the three-phase refresh, `lock` one refresh at a time, and
`embedders` the embedding models behind LangChain's `Embeddings`.
"""
