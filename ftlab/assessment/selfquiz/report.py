"""What a learner can act on: per-topic mastery, weak items, leeches, forecast and streak (each figure is defined in
ftlab.assessment.selfquiz.figures)."""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path

from ftlab.assessment.selfquiz import figures
from ftlab.assessment.selfquiz.figures import HEATMAP_LEGEND, heat, study_day
from ftlab.assessment.selfquiz.revise import SYLLABUS, Reviser, utcnow

# Where each topic is taught, for the advice on a leech.
LESSONS = {"basics": "01_why_fine_tune", "transfer": "01_why_fine_tune", "freezing": "02_freezing",
           "optimizer": "02_freezing", "batchnorm": "02_freezing", "layers": "03_which_layers",
           "similarity": "03_which_layers", "overfitting": "03_which_layers", "learning-rate": "04_learning_rates",
           "recipe": "05_the_recipe"}


@dataclass(frozen=True)
class Mastery:
    """One topic: items seen, due today, first-try accuracy, retention on returns and mastery (see figures)."""

    topic: str
    items: int
    seen: int
    due: int  # due today (figures.due_today), less suspended and buried items
    first_right: int  # reviews fully right without a hint (figures.right)
    first_tries: int
    retention: float | None  # figures.retention; None before any return
    returns: int = 0  # how many returns the retention is measured on
    weak: list[str] = field(default_factory=list)  # items whose latest review was a miss
    mastery: float = 0.0  # figures.mastery: 0..1

    @property
    def accuracy(self) -> float | None:
        """Share of first attempts fully right; None before any."""
        return self.first_right / self.first_tries if self.first_tries else None

    def __str__(self) -> str:
        if not self.seen:
            return f"{self.topic:<14} not started ({self.items} items)"
        bar = "#" * round(10 * self.mastery)
        accuracy = f"{self.first_right}/{self.first_tries} ({self.accuracy:.0%})" if self.first_tries else "-"
        retention = (f"{self.retention:.0%} of {self.returns} return(s)" if self.retention is not None
                     else "n/a (nothing came back yet)")
        return (f"{self.topic:<14} mastery {bar:<10} {self.mastery:>4.0%}  seen {self.seen:>2}/{self.items:<2} "
                f"due {self.due:<2} first try {accuracy:<12} retention {retention}")


@dataclass(frozen=True)
class Report:
    """The summary a learner reads before and after a session; prints as text, displays as HTML in a notebook."""

    topics: list[Mastery]
    due_reviews: int  # askable now: due reviews and pulled items
    new_today: int
    later_today: list[datetime]  # when each item in a learning step comes back later today
    weak: list[tuple[str, str]]  # (item id, prompt)
    leeches: list[tuple[str, int, str]]  # (item id, failed reviews, advice)
    forecast: list[tuple[date, int]]  # reviews falling due on each of the next days
    activity: dict[date, int]  # reviews per study day
    streak: int

    def __iter__(self):
        return iter(self.topics)

    def __str__(self) -> str:
        later = ""
        if self.later_today:
            later = (f" Later today: {len(self.later_today)} more, from "
                     f"{min(self.later_today).astimezone():%H:%M}.")
        lines = [f"Due now: {self.due_reviews} review(s); new items you may still start today: {self.new_today}."
                 + later, "", "Mastery by topic (from reviews only; quizzes and retries are practice):"]
        lines += [str(m) for m in self.topics]
        if self.weak:
            lines += ["", "Weak items (missed at their latest review):"]
            lines += [f"  {item_id}: {prompt}" for item_id, prompt in self.weak]
        if self.leeches:
            lines += ["", "Leeches (failed again and again; more drilling will not fix them):"]
            lines += [f"  {item_id}: failed {n} times. {advice}" for item_id, n, advice in self.leeches]
        lines += ["", "Reviews due in the next days: " + "  ".join(f"{d:%a %d} {n}" for d, n in self.forecast),
                  f"Streak: {self.streak} day(s) in a row. Last 4 weeks: {self.heatmap_text()} "
                  f"({HEATMAP_LEGEND} a day)"]
        return "\n".join(lines)

    def heatmap_text(self) -> str:
        """28 characters, oldest first, one per day: figures.heat (HEATMAP_LEGEND says what each mark means)."""
        today = max(self.activity, default=date.today())
        return "".join(heat(self.activity.get(today - timedelta(days=back), 0)) for back in range(27, -1, -1))

    def _repr_html_(self) -> str:
        rows = []
        for m in self.topics:
            seen = 120 * m.mastery
            right = 120 * (m.accuracy or 0)
            svg = (f"<svg width='130' height='22'><rect width='120' height='8' fill='#eee'/>"
                   f"<rect width='{seen:.0f}' height='8' fill='#8ab4f8'/>"
                   f"<rect y='12' width='120' height='8' fill='#eee'/>"
                   f"<rect y='12' width='{right:.0f}' height='8' fill='#1a7f37'/></svg>")
            retention = f"{m.retention:.0%}" if m.retention is not None else "<i>no data yet</i>"
            accuracy = f"{m.first_right}/{m.first_tries}" if m.first_tries else "-"
            rows.append(f"<tr><td>{escape(m.topic)}</td><td>{svg}</td><td>{m.seen}/{m.items}</td>"
                        f"<td>{accuracy}</td><td>{retention}</td><td><b>{m.due}</b></td></tr>")
        peak = max((n for _, n in self.forecast), default=0) or 1
        bars = "".join(f"<div title='{d}' style='display:inline-block;width:34px;text-align:center'>"
                       f"<div style='height:{40 * n / peak:.0f}px;background:#8ab4f8;margin:0 4px'></div>"
                       f"<small>{d:%a}<br>{n}</small></div>" for d, n in self.forecast)
        weak = "".join(f"<li><code>{escape(i)}</code> {escape(p)}</li>" for i, p in self.weak)
        leeches = "".join(f"<li><code>{escape(i)}</code> failed {n} times. {escape(a)}</li>"
                          for i, n, a in self.leeches)
        today = max(self.activity, default=date.today())
        cells = "".join(
            f"<span title='{d}: {n} review(s)' style='display:inline-block;width:10px;height:10px;margin:1px;"
            f"background:{'#eee' if n == 0 else '#9be9a8' if n < 5 else '#40c463' if n < 15 else '#216e39'}'></span>"
            for d, n in ((today - timedelta(days=k), self.activity.get(today - timedelta(days=k), 0))
                         for k in range(27, -1, -1)))
        later = (f" Later today: {len(self.later_today)} more, from {min(self.later_today).astimezone():%H:%M}."
                 if self.later_today else "")
        return (f"<div><b>Due now: {self.due_reviews} review(s); new left today: {self.new_today}.{later}</b> "
                f"Streak: {self.streak} day(s).<table><tr><th>topic</th><th>mastery (blue) / first try right (green)"
                f"</th><th>seen</th><th>first try</th><th>retention</th><th>due</th></tr>{''.join(rows)}</table>"
                + (f"<p>Weak items:</p><ul>{weak}</ul>" if weak else "")
                + (f"<p>Leeches:</p><ul>{leeches}</ul>" if leeches else "")
                + f"<p>Due in the next days:</p><div style='display:flex;align-items:flex-end'>{bars}</div>"
                + f"<p>Reviews over the last 4 weeks (lighter to darker: {HEATMAP_LEGEND} a day):</p>"
                + f"<div>{cells}</div></div>")


def report(reviser: Reviser, now: datetime | None = None, days: int = 7) -> Report:
    """Build the report from the store: only reviews count (quizzes and retries are practice)."""
    now = now or utcnow()
    cards, flags = reviser.store.cards(), reviser.store.flags()
    reviews = [r for r in reviser.store.answers() if r.attempt == "review"]
    latest = {r.item_id: r for r in reviews}
    queue = reviser.queue(now)
    askable = {i.id for i in reviser.pool(now=now)}
    leeches = reviser.leeches()
    topics = []
    for topic in sorted(reviser.bank.topics, key=lambda t: SYLLABUS.index(t) if t in SYLLABUS else len(SYLLABUS)):
        items = [i for i in reviser.bank.select(topic=topic) if i.kind in reviser.config.kinds and not i.retired]
        if not items:
            continue
        ids = {i.id for i in items}
        tries = [r for r in reviews if r.item_id in ids]
        retention, returns = figures.retention(tries)
        due = sum(1 for i in ids & askable if i in cards and (figures.due_today(cards[i], now)
                                                              or figures.due_later_today(cards[i], now)))
        weak = [i.id for i in items if i.id in latest and latest[i.id].rating == "again"]
        topics.append(Mastery(topic, len(items), sum(i in latest for i in ids), due, sum(map(figures.right, tries)),
                              len(tries), retention, returns, weak, figures.mastery([i.id for i in items], tries,
                                                                                    leeches)))
    advice = [(item_id, n, f"Go back to lesson {LESSONS.get(reviser.bank.get(item_id).topic, '')}, then "
               f"rewrite this item's answer in your own words; suspend it if it still does not stick.")
              for item_id, n in sorted(leeches.items())]
    today = study_day(now)
    suspended = {i for i, (off, _) in flags.items() if off}
    activity = Counter(study_day(r.answered_at) for r in reviews)
    streak, day = 0, today if activity.get(today) else today - timedelta(days=1)
    while activity.get(day):
        streak, day = streak + 1, day - timedelta(days=1)
    weak = [(i, reviser.bank.get(i).prompt) for m in topics for i in m.weak]
    return Report(topics, len(queue.reviews) + len(queue.pulled), len(queue.new), [due for _, due in queue.later],
                  weak, advice, figures.forecast((c for i, c in cards.items() if i not in suspended), now, days),
                  dict(activity), streak)


def history(reviser: Reviser, item_id: str) -> str:
    """Every answer to one item, oldest first, with whether it was a review or practice, rating and hints."""
    item = reviser.bank.get(item_id)
    card = reviser.store.cards().get(item_id)
    lines = [f"{item_id}: {item.prompt}"]
    for r in reviser.store.answers(item_id):
        help_ = f", {r.hints} hint(s)" if r.hints else ""
        lines.append(f"  {r.answered_at:%Y-%m-%d %H:%M} {r.attempt:<8} {r.score:g}/{r.max_score:g} "
                     f"rated {r.rating or '-'}{help_} ({r.source})")
    if len(lines) == 1:
        lines.append("  never answered")
    if card is not None:
        lines.append(f"  next due {card.due:%Y-%m-%d %H:%M} UTC ({card.state.name.lower()})")
    return "\n".join(lines)


def export_csv(reviser: Reviser, path: Path | str) -> int:
    """Write every stored answer as a CSV row (with topic and next due date); returns the number of rows."""
    cards = reviser.store.cards()
    rows = reviser.store.answers()
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["item_id", "topic", "answered_at", "attempt", "source", "score", "max_score", "rating",
                      "hints", "next_due"])
        for r in rows:
            topic = reviser.bank.get(r.item_id).topic if r.item_id in reviser.bank else ""
            due = cards[r.item_id].due.isoformat() if r.item_id in cards else ""
            out.writerow([r.item_id, topic, r.answered_at.isoformat(), r.attempt, r.source, r.score, r.max_score,
                          r.rating or "", r.hints, due])
    return len(rows)
