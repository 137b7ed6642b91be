"""From a question to ranked ``Hit``s: dense, BM25 and their fusion over the stores.

Uses ``rag.core`` and ``rag.stores``."""
