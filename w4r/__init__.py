"""w4r: the GraphQL platform for Amnesty International's Write for Rights campaign."""

__version__ = "0.1.0"
