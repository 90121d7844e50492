"""Run the benchmarks: `python -m tests.bench [name ...]` (default: all of BENCHMARKS; those of
ON_REQUEST only when named)."""

import importlib
import sys

# Each entry is a module of tests.bench with a main() that prints its figures.
BENCHMARKS: list[str] = ["admin_history", "desk", "links", "readyz", "results"]
# Run only when named (`make bench BENCH=chaos`): long, and it restarts servers of its own.
ON_REQUEST: list[str] = ["chaos"]


def main(names: list[str]) -> int:
    selected = names or BENCHMARKS
    known = BENCHMARKS + ON_REQUEST
    unknown = sorted(set(selected) - set(known))
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}")
        return 2
    for name in selected:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"tests.bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
