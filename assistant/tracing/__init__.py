"""Tracing: turn traces (Langfuse over OTLP, or nothing) and wrappers that trace the LLM and retriever."""
