"""Grounded answers: retrieve, abstain, pack, generate with citations, verify, or answer extractively."""
