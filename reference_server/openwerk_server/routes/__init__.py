"""HTTP routes, one module per conformance class (plus shared dependencies)."""
