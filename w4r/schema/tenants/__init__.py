"""GraphQL for sections and their members (mirrors w4r/tenants)."""
