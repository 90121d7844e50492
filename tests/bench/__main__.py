"""Run the benchmarks: `python -m tests.bench [name ...]` (default: all of BENCHMARKS; those of
ON_REQUEST only when named)."""

import importlib
import platform
import sys
import time
from pathlib import Path

# Each entry is a module of tests.bench with a main() that prints its figures.
BENCHMARKS: list[str] = ["admin_history", "desk", "links", "poll", "readyz", "results"]
# Run only when named (`make bench BENCH=chaos`): long, and it restarts servers of its own.
ON_REQUEST: list[str] = ["chaos"]


def machine_speed() -> float:
    """Seconds this machine's CPython takes for 10,000,000 additions in a loop: machines differ
    (the same bench gave twice the milliseconds on two sessions' machines), so each run says
    how fast its machine was, and figures from different machines can be set side by side."""
    started, total = time.perf_counter(), 0
    for i in range(10_000_000):
        total += i
    return time.perf_counter() - started


def main(names: list[str]) -> int:
    selected = names or BENCHMARKS
    known = BENCHMARKS + ON_REQUEST
    unknown = sorted(set(selected) - set(known))
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(known)}")
        return 2
    info = Path("/proc/cpuinfo")
    lines = info.read_text().splitlines() if info.exists() else []
    cpu = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), "")
    cpu = cpu or platform.processor()
    print(f"machine: {cpu}; CPython loop of 10,000,000 additions: {machine_speed():.2f} s")
    for name in selected:
        print(f"\n=== {name} ===", flush=True)
        importlib.import_module(f"tests.bench.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
