"""Core types, errors and the clock; imports nothing else of ours."""
