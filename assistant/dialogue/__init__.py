"""The dialogue manager: one entry point for every channel, with its deterministic safety layer."""
