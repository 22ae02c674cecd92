"""The dashboard's SVG charts: ticks, averaging of long runs, and what the page gets to draw."""
import math
import re
import xml.etree.ElementTree as ET

import pytest

from ftlab.teaching.dashboard_svg import Frame, Series, bar_chart, downsample, drift_bars, line_chart, mark_style, nice_ticks
from ftlab.runtime.history import History

SVG = "{http://www.w3.org/2000/svg}"


def test_nice_ticks_are_round_and_inside_the_range():
    assert nice_ticks(0, 1, 5) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 2000, 5) == [0, 500, 1000, 1500, 2000]
    assert nice_ticks(0.37, 2.4, 4) == [0.5, 1.0, 1.5, 2.0]
    assert nice_ticks(3, 3) == [3]


def test_downsample_averages_equal_chunks():
    assert downsample([1, 2, 3], [4, 5, 6], 5) == ([1, 2, 3], [4, 5, 6])
    xs, ys = downsample(list(range(10)), [0, 2] * 5, 5)
    assert xs == [0.5, 2.5, 4.5, 6.5, 8.5] and ys == [1, 1, 1, 1, 1]
    assert len(downsample(list(range(1000)), list(range(1000)), 300)[0]) <= 300


def test_line_chart_draws_finite_points_marks_in_range_and_escapes_text():
    svg = line_chart("loss <train>", [Series("train", [1, 2, 3, 4], [1.0, math.nan, 0.5, 0.25], "red"),
                                      Series("val", [2], [0.7], "blue", dots=True)],
                     (0, 10), marks=[(2, "froze stem & stage1"), (50, "outside")], frame=Frame(width=300))
    root = ET.fromstring(svg)  # well-formed XML, so the browser draws it
    lines = {p.get("data-name"): p for p in root.iter(f"{SVG}polyline")}
    assert lines["train"].get("data-points") == "3" and len(lines["train"].get("points").split()) == 3
    assert len(list(root.iter(f"{SVG}circle"))) == 1
    marks = [m for m in root.iter(f"{SVG}line") if m.get("class") == "mark"]
    assert len(marks) == 1 and marks[0].find(f"{SVG}title").text == "froze stem & stage1"
    assert "loss &lt;train&gt;" in svg
    xs = [float(p.split(",")[0]) for p in lines["train"].get("points").split()]
    assert 44 <= xs[0] < xs[1] < xs[2] <= 290, "x positions inside the plotting area, in order"


def test_bar_chart_cuts_bars_at_the_scale():
    svg = bar_chart("drift", ["stem", "head (new)"], [0.1, 2.0], ["blue", "grey"], Frame(width=300, left=100),
                    scale=0.1)
    widths = [float(w) for w in re.findall(r'class="bar"[^>]*width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(widths[1]) == pytest.approx(300 - 100 - 10 - 40)
    assert ">2 ›<" in svg and ">0.1<" in svg, "the values are written next to the bars, a cut one marked"


def test_history_curves_have_one_point_per_step_and_epoch():
    from ftlab.teaching.dashboard_svg import curves

    history = History(steps=[{"step": s, "loss": 1 / s, "acc": 0.1 * s} for s in range(1, 8)],
                      epochs=[{"step": 5, "val_loss": 0.3, "val_acc": 0.6}])
    loss, acc = curves(history, 10, [], 300)
    for svg in (loss, acc):
        counts = dict(re.findall(r'data-name="(\w+)" data-points="(\d+)"', svg))
        assert counts == {"train": "7", "val": "1"}


def test_log_loss_axis_keeps_a_spike_from_flattening_the_rest():
    losses = [2.0, 1.0, 0.5, 0.2, 0.1, 500.0, 0.3, 0.2]
    root = ET.fromstring(line_chart("loss", [Series("train", list(range(8)), losses, "red")], (0, 8), log_y=True))
    ticks = [t.text for t in root.iter(f"{SVG}text") if t.get("text-anchor") == "end" and t.text]
    assert ticks[1:5] == ["0.1", "1", "10", "100"] and "1000" in ticks  # after the legend
    ys = [float(p.split(",")[1]) for p in next(root.iter(f"{SVG}polyline")).get("points").split()]
    spread_before = max(ys[:5]) - min(ys[:5])
    assert spread_before > 0.25 * (max(ys) - min(ys)), "the first five points still use a quarter of the height"
    linear = ET.fromstring(line_chart("loss", [Series("train", list(range(8)), losses, "red")], (0, 8)))
    flat = [float(p.split(",")[1]) for p in next(linear.iter(f"{SVG}polyline")).get("points").split()]
    assert max(flat[:5]) - min(flat[:5]) < 0.01 * (max(flat) - min(flat)), "on a linear axis they were flat"


def test_marks_are_labelled_and_coloured_by_kind():
    notes = ["base lr -> 1", "froze stem, stage1", "unfroze stage4", "stage4 lr -> 0.00123456"]
    svg = line_chart("loss", [Series("train", [0, 10], [1, 2], "red")], (0, 10), marks=list(zip([0.5, 3, 5.5, 8], notes)))
    root = ET.fromstring(svg)
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "mark-label"]
    assert labels == ["lr 1", "froze stem, stage1", "unfroze stage4", "stage4 lr 0.0012"]
    colors = [m.get("stroke") for m in root.iter(f"{SVG}line") if m.get("class") == "mark"]
    assert colors[0] == colors[3] != colors[1] != colors[2] != colors[0]
    assert mark_style("something else entirely, and long")[1].endswith("…")
    late = ET.fromstring(line_chart("loss", [Series("train", [0, 10], [1, 2], "red")], (0, 10), marks=[(9.5, "froze stem")]))
    label = next(t for t in late.iter(f"{SVG}text") if t.get("class") == "mark-label")
    assert label.get("text-anchor") == "end", "a label near the right edge is drawn to the left of its line"
    crowded = ET.fromstring(line_chart("loss", [Series("train", [0, 100], [1, 2], "red")], (0, 100),
                                       marks=[(50, "unfroze stage4"), (50, "base lr -> 0.0079"), (51, "base lr -> 0.0063")]))
    assert len([m for m in crowded.iter(f"{SVG}line") if m.get("class") == "mark"]) == 3
    assert [t.text for t in crowded.iter(f"{SVG}text") if t.get("class") == "mark-label"] == ["lr 0.0063 (+2)"]


def test_drift_bars_say_their_unit():
    svg = drift_bars({"stem": 0.001, "stage4": 0.05, "head": 3.0}, {"stage4", "head"}, "head")
    assert "||w - w0|| / ||w0||, %" in svg and ">0.1%<" in svg and ">5%<" in svg and "stem (frozen)" in svg
