"""Open Werk reference server: a FastAPI node built from the normative spec."""
