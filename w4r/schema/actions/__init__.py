"""GraphQL for the action ledger (mirrors w4r/actions)."""
