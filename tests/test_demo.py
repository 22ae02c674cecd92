"""`ftlab demo` on the offline default: the syllabus's claims hold on a fixed seed."""
import subprocess
import sys

import pytest

from ftlab.demo import DemoConfig, claims, compare
from ftlab.table import Table


@pytest.fixture(scope="module")
def table():
    return compare(DemoConfig.quick(plot=None))


def _acc(table, target, strategy):
    return next(r[2] for r in table.rows if r[0] == target and r[1] == strategy)


def test_fine_tuning_beats_training_from_scratch_by_a_wide_margin(table):
    # The seed claim's target is +30 points. Measured: +32.7 (this quick run, 2 threads), +28.5 (1 thread),
    # +27.3 (the 3-seed main job): scratch at 10 labels per class varies by ~6 points with float reduction
    # order alone, so +30 is not met robustly and this asserts the margin every run shows; `ftlab demo`
    # prints the measured gap against +30 under its table.
    scratch = _acc(table, "glyph-digits", "scratch")
    assert _acc(table, "glyph-digits", "full fine-tune, low LR") >= scratch + 0.20
    assert _acc(table, "glyph-digits", "head only") >= scratch + 0.20


def test_the_stepwise_recipe_is_no_worse_than_full_fine_tuning(table):
    assert _acc(table, "glyph-digits", "stepwise recipe") >= _acc(table, "glyph-digits", "full fine-tune, low LR") - 0.01


def test_a_too_high_learning_rate_loses_50_points(table):
    assert _acc(table, "glyph-digits", "full fine-tune, high LR") <= _acc(table, "glyph-digits", "full fine-tune, low LR") - 0.50


def test_on_the_dissimilar_target_frozen_features_transfer_worse_and_tuning_the_body_matters_more(table):
    head, full = "head only", "full fine-tune, low LR"
    assert _acc(table, "sklearn-digits", head) < _acc(table, "glyph-digits", head)
    body_gain = lambda t: _acc(table, t, full) - _acc(table, t, head)
    assert body_gain("sklearn-digits") > body_gain("glyph-digits")


def test_the_claims_under_the_table_are_computed_from_it(table):
    made_up = Table(["target", "strategy", "test acc"], [
        ["similar", "scratch", 0.60], ["similar", "head only", 0.90], ["similar", "full fine-tune, low LR", 0.95],
        ["similar", "full fine-tune, high LR", 0.50], ["similar", "stepwise recipe", 0.93],
        ["other", "scratch", 0.80], ["other", "head only", 0.70], ["other", "full fine-tune, low LR", 0.90]])
    found = claims(made_up)
    assert [holds for _, holds in found] == [True, False, False, True]
    assert "+35.0 points" in found[0][0] and "-2.0 points" in found[1][0] and "costs 45.0 points" in found[2][0]
    assert "+10.0 points over scratch, vs +35.0 on similar" in found[3][0]
    gap = _acc(table, "glyph-digits", "full fine-tune, low LR") - _acc(table, "glyph-digits", "scratch")
    assert [holds for _, holds in claims(table)][:3] == [gap >= 0.30, True, True]


@pytest.mark.slow
def test_the_cli_prints_the_table_and_saves_the_plot(tmp_path):
    plot = tmp_path / "curves.png"
    out = subprocess.run([sys.executable, "-m", "ftlab.cli", "demo", "--quick", "--plot", str(plot)],
                         capture_output=True, text=True, check=True, timeout=600).stdout
    assert "stepwise recipe" in out and "sklearn-digits" in out and "what the table shows:" in out
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"
