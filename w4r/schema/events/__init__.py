"""GraphQL for letter-writing events (mirrors w4r/events)."""
