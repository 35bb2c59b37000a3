"""Scenario checks, one module per conformance class (core split by concern).

Each module holds a ``CHECKS`` set; ``registry.CHECK_MODULES`` lists the modules. A class with
no checks yet has no module.
"""
