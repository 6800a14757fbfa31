"""Language models: the LLMClient port, the OpenAI-compatible adapter, resilience and the embedded backend."""
