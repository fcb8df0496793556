"""One JSON Schema per message and the HTTP API's OpenAPI file (data)."""
