"""Run the benchmarks: `python -m tests.bench [name ...]` (default: all of BENCHMARKS)."""

import importlib
import sys

# Each entry is a module of tests.bench with a main() that prints its figures.
BENCHMARKS: list[str] = ["admin_history", "desk", "links", "readyz", "results"]


def main(names: list[str]) -> int:
    selected = names or BENCHMARKS
    unknown = sorted(set(selected) - set(BENCHMARKS))
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
        return 2
    for name in selected:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"tests.bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
