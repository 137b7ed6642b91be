"""From ``Hit``s to a cited ``Answer``: query analysis, the answerers, the citation verifier, the assistant.

Uses ``rag.core``, ``rag.stores`` and ``rag.retrieval``."""
