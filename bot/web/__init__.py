"""Web layer: the HTTP API and the Gradio chat UI over one shared bot."""
