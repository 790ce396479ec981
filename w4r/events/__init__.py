"""Letter-writing events: organising, finding, registering, reporting."""
