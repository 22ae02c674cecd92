"""Benchmarks of ftlab against baselines written plainly in PyTorch, measured in one run (`python -m ftlab.bench`)."""
from ftlab.bench.suite import BenchConfig, Figure, run

__all__ = ["BenchConfig", "Figure", "run"]
