"""GraphQL for webhooks (mirrors w4r/webhooks)."""
