"""Repeated runs: mean and spread over seeds, and whether two sets of runs differ by more than their spread."""
from __future__ import annotations


def mean_sd(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value) of repeated measurements."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("mean_sd needs at least one value")
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, var ** 0.5


def beyond_noise(a: list[float], b: list[float]) -> bool:
    """Whether two sets of runs differ by more than their spread: the means are further apart than the sum
    of the two standard deviations (error bars of one sd do not overlap)."""
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    return abs(ma - mb) > sa + sb


def paired_beyond_noise(a: list[float], b: list[float]) -> bool:
    """For runs paired by seed (the same images and start for a[i] and b[i]): whether the per-seed differences
    are further from zero than their own spread (mean difference larger than its standard deviation)."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError("paired runs need the same number of seeds, at least two")
    mean, sd = mean_sd([x - y for x, y in zip(a, b)])
    return abs(mean) > sd
