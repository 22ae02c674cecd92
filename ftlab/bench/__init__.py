"""Benchmarks of ftlab against baselines written plainly in PyTorch, measured in one run (`python -m ftlab.bench`)."""
import argparse
from pathlib import Path

from ftlab.bench.suite import BenchConfig, Figure, run

__all__ = ["BenchConfig", "Figure", "course_folder", "run"]


def course_folder(text: str) -> Path:
    """The --course value of the autograding benchmarks: a folder holding an nbgrader course to copy."""
    path = Path(text)
    if not (path / "nbgrader_config.py").is_file():
        raise argparse.ArgumentTypeError(f"{text} is not a course folder (no nbgrader_config.py); run from the "
                                         f"repository root or pass --course")
    return path
