"""Webhooks: subscriptions, the transactional delivery outbox, signing and the dispatcher."""
