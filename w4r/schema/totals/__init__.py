"""GraphQL for totals, history and live updates (mirrors w4r/totals)."""
