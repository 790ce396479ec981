"""Cases: the global record of the people and groups a campaign writes for (IS-owned)."""
