"""Spread over seeds: what the lessons and the demo call a difference, and what they call noise."""
import pytest

from ftlab.teaching.spread import beyond_noise, mean_sd, paired_beyond_noise


def test_mean_and_sample_sd():
    assert mean_sd([1.0]) == (1.0, 0.0)
    mean, sd = mean_sd([1, 2, 3])
    assert mean == 2 and sd == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least one"):
        mean_sd([])


def test_unpaired_needs_the_error_bars_apart():
    assert beyond_noise([0.9, 0.92, 0.94], [0.6, 0.62, 0.64])
    assert not beyond_noise([0.9, 0.95, 1.0], [0.85, 0.9, 0.95])  # 5 points apart, 10 points of spread
    assert beyond_noise([0.6, 0.62, 0.64], [0.9, 0.92, 0.94])  # the direction is the caller's to read


def test_paired_judges_the_per_seed_differences():
    hard, easy = [0.24, 0.27, 0.38], [0.19, 0.19, 0.35]  # the draw moves both; the difference is steady
    assert not beyond_noise(hard, easy) and paired_beyond_noise(hard, easy)
    assert not paired_beyond_noise([0.3, 0.2, 0.4], [0.2, 0.3, 0.4])
    with pytest.raises(ValueError, match="same number of seeds"):
        paired_beyond_noise([1, 2], [1])
