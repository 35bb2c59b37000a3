"""Matching at the source: score-v1 over one consumer's published view (OW-MATCH-*)."""
