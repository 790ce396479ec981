"""Infrastructure shared by every domain: database, tenant binding, auth, errors, health.

Nothing in here imports a domain package or the GraphQL layer.
"""
