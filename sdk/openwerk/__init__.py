"""Open Werk Python SDK: clients for nodes and federations."""

__all__: list[str] = []
