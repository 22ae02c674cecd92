"""`ftlab demo` on the offline default: the syllabus's claims hold on a fixed seed."""
import subprocess
import sys

import pytest

from ftlab.demo import DemoConfig, compare


@pytest.fixture(scope="module")
def table():
    return compare(DemoConfig.quick(plot=None))


def _acc(table, target, strategy):
    return next(r[2] for r in table.rows if r[0] == target and r[1] == strategy)


def test_fine_tuning_beats_training_from_scratch_by_30_points(table):
    scratch = _acc(table, "glyph-digits", "scratch")
    assert _acc(table, "glyph-digits", "full fine-tune, low LR") >= scratch + 0.30
    assert _acc(table, "glyph-digits", "head only") >= scratch + 0.30


def test_the_stepwise_recipe_is_no_worse_than_full_fine_tuning(table):
    assert _acc(table, "glyph-digits", "stepwise recipe") >= _acc(table, "glyph-digits", "full fine-tune, low LR") - 0.01


def test_a_too_high_learning_rate_loses_50_points(table):
    assert _acc(table, "glyph-digits", "full fine-tune, high LR") <= _acc(table, "glyph-digits", "full fine-tune, low LR") - 0.50


def test_on_the_dissimilar_target_frozen_features_transfer_worse_and_tuning_the_body_matters_more(table):
    head, full = "head only", "full fine-tune, low LR"
    assert _acc(table, "sklearn-digits", head) < _acc(table, "glyph-digits", head)
    body_gain = lambda t: _acc(table, t, full) - _acc(table, t, head)
    assert body_gain("sklearn-digits") > body_gain("glyph-digits")


@pytest.mark.slow
def test_the_cli_prints_the_table_and_saves_the_plot(tmp_path):
    plot = tmp_path / "curves.png"
    out = subprocess.run([sys.executable, "-m", "ftlab.cli", "demo", "--quick", "--plot", str(plot)],
                         capture_output=True, text=True, check=True, timeout=600).stdout
    assert "stepwise recipe" in out and "sklearn-digits" in out
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"
