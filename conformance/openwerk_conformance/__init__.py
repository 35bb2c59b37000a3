"""Open Werk conformance suite: raw HTTP checks that prove a node follows the standard."""
