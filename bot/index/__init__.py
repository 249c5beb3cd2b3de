"""Index stage: the Chroma vector store and the BM25 keyword index."""
