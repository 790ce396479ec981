"""GraphQL for API keys (mirrors w4r/apikeys)."""
