"""Leaf helpers every app may use: money and currencies, card-number detection, a circuit
breaker and a counter shared through the cache, and text fitted to a column. Nothing here
imports any module of ours, so anything may import it (the import contracts in pyproject.toml
hold it so)."""
