"""Fakes of external systems that speak their wire protocol, shared by tests and benchmarks.

- ``tests.fakes.openai_server``: ``FakeOpenAIServer``, a scripted vLLM (OpenAI-compatible) server.
"""
