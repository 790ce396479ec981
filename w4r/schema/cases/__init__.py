"""GraphQL for cases (mirrors w4r/cases)."""
