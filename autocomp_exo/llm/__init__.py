"""LLM access: an OpenAI-compatible client with retries, caching and budgets."""
