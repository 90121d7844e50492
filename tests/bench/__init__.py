"""Benchmarks (`make bench`): each module measures one thing and prints its figures.

Run all with `make bench`, or one with `make bench BENCH=<module>`. Figures are measured on
the machine that runs them; docs/benchmarks.md records the latest ones.
"""
