"""The GraphQL layer: it translates input and payloads; rules live in the domain services."""
