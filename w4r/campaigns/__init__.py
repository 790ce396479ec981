"""Campaigns: one per year, owned by the IS; sections take part with their own window."""
