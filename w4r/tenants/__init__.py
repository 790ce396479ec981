"""Sections (tenants): the registry, host names, members, and how a request finds its section."""
