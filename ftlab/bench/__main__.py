"""`python -m ftlab.bench [--quick] [--parts 1,3,4] [--device cpu]`: run the suite, print ratios, write JSON.

`python -m ftlab.bench NAME [flags]` runs one of the single-question benchmarks instead (TOOLS).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ftlab.bench.suite import PARTS, BenchConfig, run

TOOLS = {  # name -> (module with main(argv), what it measures)
    "cache-breakdown": ("ftlab.bench.cache_breakdown", "where a cached head-only epoch's time goes"),
    "dashboard-overhead": ("ftlab.bench.dashboard_overhead", "the throughput cost of the live dashboard"),
    "scorer": ("ftlab.bench.scorer", "the free-text scorer's precision, recall and credit to dishonest answers"),
    "autograde-time": ("ftlab.bench.autograde_time", "nbgrader seconds per notebook for each course assignment"),
    "autograde-class": ("ftlab.bench.autograde_class", "a class autograded by serial nbgrader vs ftlab workers"),
    "report-time": ("ftlab.bench.report_time", "`ftlab course report` on a class of 300 graded in shards"),
}


def main(argv: list[str] | None = None) -> dict | None:
    """Run the suite (returns its record) or the benchmark named first in `argv` (default: sys.argv)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in TOOLS:
        return importlib.import_module(TOOLS[argv[0]][0]).main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m ftlab.bench", description=__doc__.split(":", 1)[1].split("\n")[0].strip(),
        epilog="single benchmarks: " + "; ".join(f"python -m ftlab.bench {name} ({what})"
                                                 for name, (_, what) in TOOLS.items()))
    if argv and not argv[0].startswith("-"):
        parser.error(f"unknown benchmark {argv[0]!r}; choose one of {', '.join(TOOLS)}, or give only flags to run "
                     f"the suite")
    parser.add_argument("--parts", default="1,2,3,4,5,6",
                        help="comma-separated parts: " + "; ".join(f"{k} {v}" for k, v in PARTS.items()))
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: as the trainer picks)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's, one per core)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: time the CPU device by this process's CPU time (shared machines; use --threads 1)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one timed run: a smoke test")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per variant (default 5, quick 1)")
    parser.add_argument("--out", default=BenchConfig.out, help="folder for the JSON record")
    parser.add_argument("--lessons", default=BenchConfig.lessons, help="folder of lesson notebooks (part 6)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the GPU's dense bf16 peak, for MFU")
    args = parser.parse_args(argv)
    parts = tuple(int(p) for p in args.parts.split(","))
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {unknown}; parts are {', '.join(map(str, PARTS))}")
    runs = args.runs or (1 if args.quick else BenchConfig.runs)
    return run(BenchConfig(device=args.device, threads=args.threads, clock=args.clock, parts=parts, quick=args.quick,
                           runs=runs, out=args.out, lessons=args.lessons, peak_tflops=args.peak_tflops))


if __name__ == "__main__":
    main()
