"""Small SVG line and bar charts built as strings, and the live dashboard's charts made with them.

Why not matplotlib: it is not thread-safe, and one Agg PNG of three small axes takes about 0.2 s
on a busy CPU, a tenth of the training time at one frame per second. A chart here is a few
hundred short strings (about a millisecond), can be built in any thread, and the browser draws it.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass


@dataclass
class Series:
    """One plotted line: x and y values, a legend name and a colour."""

    name: str
    xs: list[float]
    ys: list[float]
    color: str
    dots: bool = False  # mark the points too, while there are at most 40 (epoch-level series)


@dataclass
class Frame:
    """Size of a chart and of the margins around its plotting area, in pixels."""

    width: int = 300
    height: int = 200
    left: int = 44
    right: int = 10
    top: int = 24
    bottom: int = 22


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About `count` round tick values (1, 2 or 5 times a power of ten apart) inside [lo, hi]."""
    if not hi > lo:
        return [lo]
    magnitude = 10 ** math.floor(math.log10((hi - lo) / count))
    step = min((m * magnitude for m in (0.5, 1, 2, 5, 10)), key=lambda s: abs((hi - lo) / s - count))
    first = math.ceil(lo / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((hi - first) / step + 1e-9) + 1)]


def downsample(xs: list[float], ys: list[float], max_points: int) -> tuple[list[float], list[float]]:
    """At most `max_points` points: longer series are averaged in equal consecutive chunks."""
    if len(xs) <= max_points:
        return list(xs), list(ys)
    k = math.ceil(len(xs) / max_points)
    chunks = range(0, len(xs), k)
    return ([sum(xs[i:i + k]) / len(xs[i:i + k]) for i in chunks],
            [sum(ys[i:i + k]) / len(ys[i:i + k]) for i in chunks])


def _label(value: float) -> str:
    whole = math.isfinite(value) and value == int(value) and abs(value) < 1e6
    return str(int(value)) if whole else f"{value:.3g}"


def _open(frame: Frame, title: str, legend: list[tuple[str, str]]) -> list[str]:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="ftlab-chart" width="{frame.width}" '
             f'height="{frame.height}" viewBox="0 0 {frame.width} {frame.height}" '
             f'font-family="sans-serif" font-size="11">',
             f'<text x="4" y="14" font-weight="bold">{html.escape(title)}</text>']
    x = frame.width - frame.right
    for name, color in reversed(legend):
        parts.append(f'<text x="{x}" y="14" text-anchor="end" fill="{color}">{html.escape(name)}</text>')
        x -= 7 * len(name) + 10
    return parts


MARK_COLORS = {"lr": "#ff7f0e", "froze": "#7f7f7f", "unfroze": "#2ca02c"}  # kind of intervention -> colour


def mark_style(note: str) -> tuple[str, str]:
    """(colour, short label) of an intervention note such as "base lr -> 1", "froze stage1" or "unfroze head"."""
    kind = "lr" if " lr -> " in note else note.split(" ", 1)[0]
    short = note
    if kind == "lr":
        where, _, value = note.partition(" lr -> ")
        try:
            short = f"{'' if where == 'base' else where + ' '}lr {float(value):.2g}"
        except ValueError:
            pass
    return MARK_COLORS.get(kind, "#d62728"), short if len(short) <= 18 else short[:17] + "…"


def _clusters(xs: list[float], gap: float) -> list[list[int]]:
    """Indices of sorted positions grouped where neighbours are closer than `gap` (one label per group)."""
    groups: list[list[int]] = []
    for i in sorted(range(len(xs)), key=xs.__getitem__):
        if groups and xs[i] - xs[groups[-1][-1]] < gap:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def line_chart(title: str, series: list[Series], x_range: tuple[float, float],
               y_range: tuple[float, float] | None = None, marks: list[tuple[float, str]] = (),
               frame: Frame = Frame(), max_points: int = 300, log_y: bool = False) -> str:
    """Lines over a shared x axis, with labelled, coloured vertical `marks` (x, note) for interventions.
    log_y plots log10 of positive values (ticks at powers of ten), so one spike does not flatten the rest."""
    clean = []
    for s in series:
        ys = [math.log10(y) if log_y and y > 0 else (math.nan if log_y else y) for y in s.ys]
        pairs = [(x, y) for x, y in zip(s.xs, ys) if math.isfinite(y)]
        clean.append((s, *downsample([p[0] for p in pairs], [p[1] for p in pairs], max_points)))
    if y_range is None:
        ys = [y for _, _, values in clean for y in values]
        lo, hi = (min(ys), max(ys)) if ys else (0.0, 1.0)
        pad = 0.05 * (hi - lo) or 0.5
        y_range = (math.floor(lo), math.ceil(hi)) if log_y and ys else (lo - pad, hi + pad)
    elif log_y:
        y_range = (math.log10(y_range[0]), math.log10(y_range[1]))
    x0, x1 = x_range[0], max(x_range[1], x_range[0] + 1)
    y0, y1 = y_range
    w, h = frame.width - frame.left - frame.right, frame.height - frame.top - frame.bottom

    def px(x: float) -> float:
        return frame.left + (x - x0) / (x1 - x0) * w

    def py(y: float) -> float:
        return frame.top + (y1 - y) / (y1 - y0) * h

    parts = _open(frame, title, [(s.name, s.color) for s in series])
    parts.append(f'<rect x="{frame.left}" y="{frame.top}" width="{w}" height="{h}" fill="none" stroke="#999"/>')
    ticks = [float(k) for k in range(math.ceil(y0), math.floor(y1) + 1)] if log_y else nice_ticks(y0, y1, 4)
    for tick in ticks:
        parts.append(f'<line x1="{frame.left}" x2="{frame.left + w}" y1="{py(tick):.1f}" y2="{py(tick):.1f}" '
                     f'stroke="#e4e4e4"/><text x="{frame.left - 4}" y="{py(tick) + 4:.1f}" '
                     f'text-anchor="end">{_label(10 ** tick if log_y else tick)}</text>')
    for tick in nice_ticks(x0, x1, 5):
        parts.append(f'<text x="{px(tick):.1f}" y="{frame.height - 6}" text-anchor="middle">{_label(tick)}</text>')
    shown = [(px(x), note) for x, note in marks if x0 <= x <= x1]
    for row, group in enumerate(_clusters([x for x, _ in shown], 25)):
        for i in group:
            color, _ = mark_style(shown[i][1])
            parts.append(f'<line class="mark" x1="{shown[i][0]:.1f}" x2="{shown[i][0]:.1f}" y1="{frame.top}" '
                         f'y2="{frame.top + h}" stroke="{color}" stroke-width="1.5" stroke-dasharray="4,2">'
                         f'<title>{html.escape(shown[i][1])}</title></line>')
        x, note = shown[group[-1]]  # one label per cluster of nearby marks: the latest change, and how many more
        color, short = mark_style(note)
        right = x > frame.left + 0.6 * w  # label to the left of the line, so it stays inside the chart
        more = f" (+{len(group) - 1})" if len(group) > 1 else ""
        parts.append(f'<text class="mark-label" x="{x + (-3 if right else 3):.1f}" y="{frame.top + 11 + 11 * (row % 3)}" '
                     f'text-anchor="{"end" if right else "start"}" fill="{color}" font-size="10">'
                     f'{html.escape(short + more)}</text>')
    for s, xs, ys in clean:
        points = " ".join(f"{px(x):.1f},{py(min(max(y, y0), y1)):.1f}" for x, y in zip(xs, ys))
        parts.append(f'<polyline class="series" data-name="{html.escape(s.name)}" data-points="{len(xs)}" '
                     f'points="{points}" fill="none" stroke="{s.color}" stroke-width="1.5"/>')
        if s.dots and len(xs) <= 40:
            parts.extend(f'<circle cx="{px(x):.1f}" cy="{py(min(max(y, y0), y1)):.1f}" r="2.5" fill="{s.color}"/>'
                         for x, y in zip(xs, ys))
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, labels: list[str], values: list[float], colors: list[str],
              frame: Frame = Frame(), scale: float | None = None, unit: str = "") -> str:
    """Horizontal bars, one per label, annotated with their values and `unit`; a bar reaches full width at
    `scale` (default: the largest value), and longer ones are cut there."""
    top = scale or max([v for v in values if math.isfinite(v)], default=0.0) or 1.0
    w = frame.width - frame.left - frame.right - 40
    row = (frame.height - frame.top - 6) / max(len(labels), 1)
    parts = _open(frame, title, [])
    for i, (label, value, color) in enumerate(zip(labels, values, colors)):
        y = frame.top + i * row
        cut = not math.isfinite(value) or value > top
        width = w if cut else max(value, 0.0) / top * w
        parts.append(f'<text x="{frame.left - 4}" y="{y + row * 0.65:.1f}" text-anchor="end">{html.escape(label)}</text>'
                     f'<rect class="bar" data-name="{html.escape(label)}" x="{frame.left}" y="{y + row * 0.15:.1f}" '
                     f'width="{width:.1f}" height="{row * 0.7:.1f}" fill="{color}"/>'
                     f'<text x="{frame.left + width + 4:.1f}" y="{y + row * 0.65:.1f}">'
                     f'{_label(value)}{html.escape(unit)}{" ›" if cut else ""}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ---- the dashboard's charts ---------------------------------------------------------------------
def curves(history, x_end: float, marks: list[tuple[float, str]], max_points: int) -> tuple[str, str]:
    """Loss and accuracy per training step, validation per epoch, both over steps 0..x_end."""
    steps, epochs = history.steps, [r for r in history.epochs if "val_loss" in r]
    xs, vx, frame = [r["step"] for r in steps], [r["step"] for r in epochs], Frame(width=280)
    charts = []
    for title, train, val, y_range, log_y in (("loss (log scale)", "loss", "val_loss", None, True),
                                              ("accuracy", "acc", "val_acc", (0.0, 1.0), False)):
        charts.append(line_chart(title, [Series("train", xs, [r[train] for r in steps], "#1f77b4"),
                                         Series("val", vx, [r[val] for r in epochs], "#9467bd", dots=True)],
                                 (0, x_end), y_range, marks, frame, max_points, log_y=log_y))
    return charts[0], charts[1]


def drift_bars(drift: dict[str, float], trainable: set[str], head: str) -> str:
    """Relative weight drift per group in percent (||w - w0|| / ||w0||), frozen groups in grey; scaled to the
    pretrained groups, since the new head moves far more than any of them."""
    percent = {g: 100 * d for g, d in drift.items()}
    body = max((d for g, d in percent.items() if g != head), default=0.0)
    labels = [f"{g} (new)" if g == head else g if g in trainable else f"{g} (frozen)" for g in percent]
    colors = ["#1f77b4" if g in trainable else "#b0b0b0" for g in percent]
    return bar_chart("drift: ||w - w0|| / ||w0||, %", labels, list(percent.values()), colors,
                     Frame(width=280, left=100), scale=body or None, unit="%")
