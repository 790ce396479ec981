"""Mail to supporters: the transactional outbox and the SMTP sender that drains it."""
