"""Privacy mechanisms of a node: pseudonyms, the k-anonymity gate, disclosure control.

Pure functions over plain data, so they can be tested exhaustively and reasoned about
apart from storage and HTTP (spec/docs/pseudonyms.md, k-anonymity.md, statistics.md).
"""
