"""Abuse protection of public writes: flags, allowlisted networks, trusted documents."""
