"""`python -m ftlab.bench [--quick] [--parts 1,3,4] [--device cpu]`: run the suite, print ratios, write JSON."""
from __future__ import annotations

import argparse

from .suite import PARTS, BenchConfig, run


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m ftlab.bench", description=__doc__.split(":", 1)[1].strip())
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
