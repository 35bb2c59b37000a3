"""The Open Werk standard as a Python package: spec documents, code lists, score-v1."""
