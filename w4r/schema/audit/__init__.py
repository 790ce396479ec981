"""GraphQL for the audit log (mirrors w4r/audit): the mutation audit and `auditLog`."""
