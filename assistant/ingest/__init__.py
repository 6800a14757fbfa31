"""Ingestion use case: scan connectors, chunk, encode, and rebuild the index incrementally."""
