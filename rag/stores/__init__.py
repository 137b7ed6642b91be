"""Where chunks live: the SQLite catalogue, Chroma (vectors), BM25, the embedding cache and the vendor adapters.

Uses ``rag.core`` only."""
