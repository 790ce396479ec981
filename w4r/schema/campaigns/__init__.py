"""GraphQL for campaigns and sections' participation (mirrors w4r/campaigns)."""
