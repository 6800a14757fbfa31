"""Retrieval: encoders, the vector index port and its Qdrant adapters, and the hybrid retriever."""
