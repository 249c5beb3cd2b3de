"""The local LLM: provisioning the GGUF and serving it over an OpenAI-compatible API."""
