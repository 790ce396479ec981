"""The GraphQL API of supporters, consent, petition signatures and their data rights."""
