"""The class report as an HTML page (matplotlib charts), CSV rows and terminal text.

Student text is escaped, and the page's Content-Security-Policy allows no script at all: a report is a page an
instructor opens, and answers are written by students.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import io
from html import escape
from pathlib import Path

from ftlab.assessment.course.report import Question, Report

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
EXAMPLES = 3  # anonymised example answers shown per misconception


def pseudonyms(students: list[str]) -> dict[str, str]:
    """'Student 1'...: numbered in an order that does not follow the ids (a hash), so numbers reveal nothing."""
    order = sorted(students, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
    return {s: f"Student {i}" for i, s in enumerate(order, start=1)}


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}">'


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def distribution_chart(report: Report) -> str:
    """A histogram of the students' totals."""
    fig, ax = _figure(5, 2.4)
    ax.hist(list(report.totals.values()), bins=min(20, max(5, len(report.students) // 3)),
            range=(0, report.max_total), color="#4c72b0")
    ax.set_xlabel(f"total points (of {report.max_total:g})")
    ax.set_ylabel("students")
    return _png(fig)


def questions_chart(report: Report) -> str:
    """Per question, the shares full / partial / zero / not attempted as stacked bars."""
    fig, ax = _figure(6, 0.35 * len(report.questions) + 1)
    names = [q.grade_id for q in report.questions]
    left = [0.0] * len(names)
    for key, colour in (("full", "#2a9d5c"), ("partial", "#e9c46a"), ("zero", "#d1495b"),
                        ("not_attempted", "#aaaaaa")):
        shares = [q.stats()[key] for q in report.questions]
        ax.barh(names, shares, left=left, color=colour, label=key.replace("_", " "))
        left = [a + b for a, b in zip(left, shares)]
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of the class")
    ax.legend(ncols=4, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    return _png(fig)


def options_chart(questions: list[Question]) -> str:
    """Small multiples, one per choice question: how often each option was picked; the key in green."""
    import matplotlib.pyplot as plt

    cols = min(3, len(questions))
    rows = -(-len(questions) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 1.6 * rows), squeeze=False)
    for ax, q in zip(axes.flat, questions):
        counts = [sum(r.choice == i for r in q.responses) for i in range(len(q.options))]
        letters = [chr(ord("A") + i) for i in range(len(q.options))]
        ax.barh(letters, counts, color=["#2a9d5c" if i == q.answer else "#d1495b" for i in range(len(q.options))])
        ax.invert_yaxis()
        ax.set_title(q.grade_id.removesuffix("-test"), fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(questions):]:
        ax.axis("off")
    fig.tight_layout()
    return _png(fig)


def _table(rows: list[list[str]], head: list[str]) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def question_rows(report: Report) -> list[dict]:
    """One row per question: the statistics the CSV holds and the HTML table shows."""
    rows = []
    for q in report.questions:
        stats, disc = q.stats(), report.discrimination(q)
        rows.append({"assignment": report.assignment, "question": q.grade_id, "kind": q.kind, "points": q.points,
                     "students": len(q.responses), "mean": round(stats["mean"], 3), "sd": round(stats["sd"], 3),
                     **{k: round(stats[k], 3) for k in ("full", "partial", "zero", "not_attempted", "to_person")},
                     "discrimination": "" if disc is None else round(disc, 3), "flag": report.verdict(q)})
    return rows


def write_csv(reports: list[Report], path: Path) -> Path:
    """Per question statistics for a spreadsheet or an LMS: one row per question of every assignment."""
    rows = [row for report in reports for row in question_rows(report)]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def _detail(q: Question) -> str:
    """A question's section: options picked, concepts stated, or the parts of a coding check that failed."""
    parts = [f"<h3>{escape(q.grade_id)} <small>({escape(q.kind)}, {q.points:g} points)</small></h3>",
             f"<p class=prompt>{escape(q.title)}</p>"]
    n = max(len(q.responses), 1)
    if q.options:
        rows = [[escape(chr(ord("A") + i)) + (" (key)" if i == q.answer else ""), escape(text),
                 str(sum(r.choice == i for r in q.responses)), escape(q.mistakes.get(i, ""))]
                for i, text in enumerate(q.options)]
        parts.append(_table(rows, ["option", "text", "picked", "misconception it stands for"]))
    elif q.concept_names:
        rows = []
        for concept in q.concept_names:
            said = [r.concepts.get(concept) for r in q.responses]
            rows.append([escape(concept)] + [_pct(said.count(state) / n) for state in
                                             ("stated", "missing", "contradicted")])
        parts.append(_table(rows, ["concept", "stated", "left out", "contradicted"]))
    elif q.kind in ("exercise", "structure"):
        failed = {}
        for r in q.responses:
            for what in r.failures:
                failed[what] = failed.get(what, 0) + 1
        rows = [[escape(what), f"{count} of {len(q.responses)}"] for what, count in
                sorted(failed.items(), key=lambda kv: -kv[1])]
        parts.append(_table(rows, ["what failed", "students"]) if rows else "<p>No part of the check failed.</p>")
    return "\n".join(parts)


def _misconceptions(report: Report) -> str:
    rows = []
    by_question = {q.grade_id: q for q in report.questions}
    for m in report.misheld:
        examples = []
        for grade in m.questions:
            for r in by_question[grade].responses:
                said = r.misconceptions.get(m.name)
                if said and len(examples) < EXAMPLES:
                    examples.append(f"<blockquote>{escape(said[:400])}</blockquote>")
        teach = ", ".join(escape(i) for i in m.items) or "-"
        rows.append([escape(m.name), f"{len(m.students)} ({_pct(m.share)})", escape(", ".join(m.questions)),
                     escape(m.lesson or "-"), teach, "".join(examples)])
    return _table(rows, ["misconception", "students", "questions", "lesson", "self-study items",
                         "what students wrote"]) if rows else "<p>No misconception was shown.</p>"


def to_html(reports: list[Report], anonymise: bool = False) -> str:
    """The whole report as one self-contained page; `anonymise` hides student ids (safe to share with the class)."""
    body = []
    for report in reports:
        names = pseudonyms(report.students) if anonymise else {s: s for s in report.students}
        mean = sum(report.totals.values()) / max(len(report.totals), 1)
        body.append(f"<h1>{escape(report.assignment)}</h1><p>{len(report.students)} submissions, mean "
                    f"{mean:.2f} of {report.max_total:g} points.</p>")
        body.append("<h2>Reteach first</h2>")
        reteach = report.reteach()
        body.append("<ol>" + "".join(
            f"<li><b>{escape(m.name)}</b>: {len(m.students)} students ({_pct(m.share)}); lesson "
            f"{escape(m.lesson or '-')}; self-study: {escape(', '.join(m.items) or '-')}</li>" for m in reteach)
            + "</ol>" if reteach else "<p>No misconception is held by a notable share of the class.</p>")
        body += ["<h2>The class</h2>", distribution_chart(report), questions_chart(report)]
        rows = [[escape(str(row[k])) for k in ("question", "kind", "points", "mean", "sd")]
                + [_pct(row[k]) for k in ("full", "partial", "zero", "not_attempted", "to_person")]
                + [escape(str(row["discrimination"])), escape(row["flag"])] for row in question_rows(report)]
        body.append(_table(rows, ["question", "kind", "points", "mean", "sd", "full", "partial", "zero",
                                  "not attempted", "to a person", "discrimination", "look at"]))
        if report.variants:
            body.append(f"<p>Variants on: {len(set(report.variants.values()))} distinct variants among "
                        f"{len(report.variants)} students (option orders undone in the counts below).</p>")
            if not anonymise:
                body.append(_table([[escape(s), escape(code)] for s, code in sorted(report.variants.items())],
                                   ["student", "variant"]))
        if report.seconds:
            times = sorted(report.seconds.values())
            body.append(f"<p>Grading time per submission: median {times[len(times) // 2]:.1f} s, "
                        f"longest {times[-1]:.1f} s.</p>")
        flagged = [[escape(names[s]), escape("; ".join(why))] for s, why in sorted(report.flags.items(),
                                                                                    key=lambda kv: names[kv[0]])]
        if flagged and not anonymise:
            body += ["<h2>Flagged submissions</h2>", _table(flagged, ["student", "why"])]
        elif flagged:
            body.append(f"<p>{len(flagged)} submissions were flagged for the instructor.</p>")
        body += ["<h2>Misconceptions</h2>", _misconceptions(report), "<h2>Questions</h2>"]
        choices = [q for q in report.questions if q.options]
        if choices:
            body += ["<p>Options picked (the key in green):</p>", options_chart(choices)]
        body += [_detail(q) for q in report.questions]
    style = ("body{font-family:sans-serif;max-width:60em;margin:auto} table{border-collapse:collapse;margin:.5em 0}"
             "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%;vertical-align:top}"
             "blockquote{margin:0 0 4px;color:#444;font-style:italic} .prompt{color:#333}")
    return (f"<!DOCTYPE html><html><head><meta charset=utf-8><meta http-equiv=Content-Security-Policy "
            f"content=\"{CSP}\"><title>Class report</title><style>{style}</style></head><body>"
            + "\n".join(body) + "</body></html>")


def to_text(report: Report) -> str:
    """The terminal summary: per question statistics, then what to reteach."""
    lines = [f"{report.assignment}: {len(report.students)} submissions, mean "
             f"{sum(report.totals.values()) / max(len(report.totals), 1):.2f} of {report.max_total:g}",
             f"{'question':34s} {'mean':>5s} {'full':>5s} {'part':>5s} {'zero':>5s} {'n/a':>5s} {'person':>6s} "
             f"{'disc':>5s}  look at"]
    for row in question_rows(report):
        disc = "" if row["discrimination"] == "" else f"{row['discrimination']:.2f}"
        lines.append(f"{row['question'][:34]:34s} {row['mean']:5.2f} " + " ".join(
            f"{_pct(row[k]):>5s}" for k in ("full", "partial", "zero", "not_attempted")) +
            f" {_pct(row['to_person']):>6s} {disc:>5s}  {row['flag']}")
    reteach = report.reteach()
    lines.append("Reteach: " + ("none" if not reteach else ""))
    lines += [f"  {len(m.students):3d} students  {m.name}  (lesson {m.lesson or '-'}; self-study: "
              f"{', '.join(m.items) or '-'})" for m in reteach]
    return "\n".join(lines)


# ---- command line ------------------------------------------------------------------------------------------

def add_arguments(parser) -> None:
    """The flags of `ftlab course report`."""
    parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="assignments to report on (default: every autograded one)")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the report as a web page")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write per-question statistics as CSV")
    parser.add_argument("--anonymise", action="store_true",
                        help="leave student ids out of the page (safe to share with the class)")
    parser.add_argument("--assign-review", type=Path, metavar="DIR",
                        help="write DIR/<student>.toml for each student who showed a misconception to reteach: the "
                             "self-study items that teach it, for `ftlab revise --assigned FILE`")
    parser.add_argument("--root", type=Path, default=None, help="course directory (default: . or ./quizzes)")


def review_lists(reports: list[Report], folder: Path) -> list[Path]:
    """One review list per student who showed a misconception worth reteaching: its self-study items, and why."""
    from ftlab.assessment.bank.review_list import write_review_list

    folder.mkdir(parents=True, exist_ok=True)
    per_student: dict[str, dict[str, str]] = {}
    for report in reports:
        for m in report.reteach():
            for student in sorted(m.students):
                for item_id in m.items:
                    per_student.setdefault(student, {}).setdefault(
                        item_id, f"in {report.assignment} ({', '.join(m.questions)}) your answer showed: {m.name}")
    names = "+".join(r.assignment for r in reports)
    return [write_review_list(folder / f"{student}.toml", names, entries) for student, entries in per_student.items()]


def run(args) -> None:
    import sys

    from ftlab.assessment.course.assignments import BY_NAME
    from ftlab.assessment.course.build import default_root
    from ftlab.assessment.course.report import ReportError, build

    course = args.root if args.root is not None else default_root()
    wanted = args.assignments or [name for name in BY_NAME if any((course / "autograded").glob(f"*/{name}"))]
    try:
        if not wanted:
            raise ReportError(f"nothing is autograded in {course}: run `ftlab course autograde ASSIGNMENT` first")
        reports = [build(course, name) for name in wanted]
    except ReportError as error:
        sys.exit(f"ftlab course report: {error}")
    print("\n\n".join(to_text(report) for report in reports))
    if args.csv:
        print(f"per-question statistics: {write_csv(reports, args.csv)}")
    if args.assign_review:
        written = review_lists(reports, args.assign_review)
        print(f"review lists for {len(written)} students in {args.assign_review}: send each student theirs "
              f"(they run `ftlab revise --assigned FILE`)")
    if args.html:
        args.html.write_text(to_html(reports, anonymise=args.anonymise), encoding="utf-8")
        print(f"report: {args.html}")
