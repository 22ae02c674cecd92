"""Free-text scorer figures on a labelled answer set: confident-and-wrong, sent to a person, dishonest credit,
honest-full credit, paraphrase spread, per-concept agreement and ms/answer, with the confusions quoted.

Run: python -m ftlab.bench scorer [--set PATH ...] [--confusions | --calibration]. A set is a TOML file of
[[answers]] with item, kind (honest-full, honest-partial, half-right, wrong, misconception, keyword-list, echo,
padded, ...), group (paraphrases of one answer share it), text, labels (concept name -> "stated" / "missing" /
"contradicted") and optionally score (the labeller's points; without it, the concepts labelled stated, or
`overall`: full / partial / none) and second (a second labeller's concept labels, to print how far two people are
apart). Without --set it reads benchmarks/scorer/*.toml. Items come from the public bank and the course's private
bank (quizzes/bank), or --bank folders. --calibration says which concepts to mark `check_when_absent`.
"""
from __future__ import annotations

import argparse
import statistics
import time
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

from ftlab.assessment.bank import Context, grade, load_bank
from ftlab.assessment.bank.items import Item, Outcome
from ftlab.assessment.bank.loader import ITEMS_DIR
from ftlab.assessment.bank.reader import write_labelled
from ftlab.assessment.bank.scorer import Verdict, canon, compile_phrasing

ROOT = Path(__file__).resolve().parents[2]
SETS = ROOT / "benchmarks" / "scorer"
COURSE_BANK = ROOT / "quizzes" / "bank"
DISHONEST = ("wrong", "misconception", "keyword-list", "echo", "paste", "pasted", "padded", "padding")
LABEL = {"stated": Verdict.ASSERTED, "missing": Verdict.ABSENT, "contradicted": Verdict.CONTRADICTED}
TARGETS = {"confident and wrong": 0.02, "honest sent to a person": 0.20, "dishonest credit while confident": 0.05,
           "honest-full credit": 0.90}


@dataclass
class Scored:
    """One labelled answer with the scorer's verdicts."""

    answer: dict
    item: Item
    points: float
    max_points: float
    confident: bool
    verdicts: list[Verdict]
    evidence: dict[str, str]
    flags: tuple[str, ...]

    @property
    def kind(self) -> str:
        return self.answer.get("kind", "")

    @property
    def honest(self) -> bool:
        return not self.kind.startswith(DISHONEST)

    @property
    def label(self) -> float:
        """The labeller's points: `score` if given, else the share of concepts labelled stated, scaled to max."""
        if "score" in self.answer:
            return float(self.answer["score"])
        if not self.item.concepts or "labels" not in self.answer:  # labelled as a whole: full, partial or none
            return self.max_points * {"full": 1.0, "partial": 0.5}.get(self.answer.get("overall", ""), 0.0)
        return self.stated_points(self.answer.get("labels", {}))

    def stated_points(self, labels: dict) -> float:
        """The share of the item's concepts these labels call stated, scaled to max."""
        stated = sum(labels.get(c.name) == "stated" for c in self.item.concepts)
        return self.max_points * stated / len(self.item.concepts)

    @property
    def off(self) -> float:
        """Points between the scorer's suggestion and the labeller's."""
        return abs(self.points - self.label)

    @property
    def second_off(self) -> float | None:
        """Points between a second labeller's score and the first one's, when the set has second labels."""
        second = self.answer.get("second")
        return abs(self.stated_points(second) - self.label) if second else None


@dataclass
class Figures:
    """The issue's figures over one set, each with the answers behind it."""

    rows: list[Scored]
    concept: Counter = field(default_factory=Counter)  # (label, verdict) -> count
    second: Counter = field(default_factory=Counter)  # (label, second labeller's label) -> count

    def share(self, rows: list[Scored], test) -> float:
        return sum(map(test, rows)) / max(len(rows), 1)

    def summary(self) -> dict[str, float]:
        honest = [r for r in self.rows if r.honest]
        dishonest = [r for r in self.rows if not r.honest]
        full = [r for r in self.rows if r.kind == "honest-full"]
        return {
            "confident and wrong": self.share(self.rows, lambda r: r.confident and r.off >= 1 - 1e-9),
            "honest sent to a person": self.share(honest, lambda r: not r.confident),
            "dishonest credit while confident": sum(r.points / r.max_points for r in dishonest if r.confident)
            / max(len(dishonest), 1),
            "honest-full credit": statistics.fmean(r.points / r.max_points for r in full) if full else float("nan"),
        }

    def spreads(self) -> list[tuple[str, float, list[Scored]]]:
        groups: dict[str, list[Scored]] = defaultdict(list)
        for r in self.rows:
            if r.answer.get("group"):
                groups[f"{r.item.id}/{r.answer['group']}"].append(r)
        return [(g, max(r.points for r in rs) - min(r.points for r in rs), rs) for g, rs in groups.items()
                if len(rs) >= 2]


def items_of(banks: list[Path] | None) -> dict[str, Item]:
    """Every item of the public bank and the course's private bank (or of the given folders), by id."""
    loaded = [load_bank()] + [load_bank(b) for b in (banks or ([COURSE_BANK] if COURSE_BANK.is_dir() else []))]
    return {item.id: item for bank in loaded for item in bank.items}


def labelled_answers(sets: list[Path], folder: Path) -> dict[str, list[tuple[str, list[str]]]]:
    """The sets' answers to the bank folder's items that carry concept labels: item id -> [(text, concepts stated)]."""
    bank = load_bank(folder)
    rows: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
    for path in sets:
        for a in tomllib.loads(path.read_text(encoding="utf-8"))["answers"]:
            item = bank.get(a["item"]) if a["item"] in bank else None
            if item is not None and getattr(item, "concepts", None) and a.get("labels"):
                stated = [c.name for c in item.concepts if a["labels"].get(c.name) == "stated"]
                rows[item.id].append((a["text"], stated))
    return rows


def pack(sets: list[Path], banks: list[Path]) -> list[Path]:
    """Write each bank folder's labelled.json.gz from the sets' concept labels: the answers the second reader
    (ftlab.assessment.bank.reader) learns from. Only open sets belong here: a sealed half stays out until scored."""
    return [write_labelled(folder, labelled_answers(sets, folder)) for folder in banks]


def left_out(items: dict[str, Item], path: Path) -> dict[str, Item]:
    """The items with the answers of this set's family (blind7-tune and blind7-sealed: blind7) taken out of what the
    second reader learns from, so that a set is read as if nobody had labelled it."""
    family = path.stem.split("-")[0]
    texts = {a["text"] for p in path.parent.glob(f"{family}-*.toml")
             for a in tomllib.loads(p.read_text(encoding="utf-8"))["answers"]}
    texts |= {a["text"] for a in tomllib.loads(path.read_text(encoding="utf-8"))["answers"]}
    return {key: replace(item, labelled=tuple(a for a in item.labelled if a.text not in texts))
            if getattr(item, "labelled", ()) else item for key, item in items.items()}


def measure(path: Path, items: dict[str, Item]) -> Figures:
    """Grade every answer of a labelled set as a learner's typed answer, nothing on screen but the question."""
    answers = tomllib.loads(path.read_text(encoding="utf-8"))["answers"]
    figures = Figures([])
    gone = sorted({a["item"] for a in answers if a["item"] not in items})
    if gone:  # an item merged away or renamed since the set was written: say so, never score it as something else
        print(f"{path.name}: {sum(a['item'] in gone for a in answers)} answers skipped, their items are not in the "
              f"banks read: {', '.join(gone)}")
    for answer in answers:
        if answer["item"] in gone:
            continue
        item = items[answer["item"]]
        result = grade(item, answer["text"], Context())  # a card without concepts asks for a self-rating: unsure
        names = [c.name for c in getattr(item, "concepts", [])]
        decided = {name: verdict for name, verdict, _ in result.evidence}
        verdicts = [Verdict(decided.get(n, "absent")) for n in names]
        sure = result.confident and result.outcome is not Outcome.NOT_ATTEMPTED
        row = Scored(answer, item, result.score, result.max_score, sure, verdicts,
                     {n: e for n, _, e in result.evidence}, result.flags)
        figures.rows.append(row)
        for name, verdict in zip(names, verdicts):
            label = answer.get("labels", {}).get(name)
            if label in LABEL:
                figures.concept[(LABEL[label], verdict)] += 1
                if name in answer.get("second", {}):
                    figures.second[(LABEL[label], LABEL[answer["second"][name]])] += 1
    return figures


AGREE, LEFT_OUT = 0.90, 8  # a concept left out this many times and agreed on less often is checked by a person


def unflagged(items: dict[str, Item]) -> dict[str, Item]:
    """The items with no concept marked `check_when_absent`: what the scorer decides before calibration."""
    return {key: replace(item, concepts=[replace(c, check_when_absent=False) for c in item.concepts])
            if getattr(item, "concepts", None) else item for key, item in items.items()}


def calibration(rows: list[Scored], items: dict[str, Item]) -> None:
    """Per concept, how often the labeller agreed where the uncalibrated scorer (`rows`, scored on `unflagged`
    items), sure of the answer, left it out; the concepts below AGREE (of at least LEFT_OUT) should be marked
    `check_when_absent` in `items`, and only they."""
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    marked = {(item.id, c.name): c.check_when_absent for item in items.values() for c in getattr(item, "concepts", [])}
    for r in rows:
        for concept, verdict in zip(r.item.concepts, r.verdicts):
            if r.confident and verdict is Verdict.ABSENT and concept.name in r.answer.get("labels", {}):
                tally[(r.item.id, concept.name)][0] += 1
                tally[(r.item.id, concept.name)][1] += r.answer["labels"][concept.name] != "stated"
    print(f"\nLeft out while sure: the labeller agreed on (concepts below {AGREE:.0%} of at least {LEFT_OUT} decisions "
          "should be marked check_when_absent)")
    for key, (n, agreed) in sorted(tally.items(), key=lambda kv: kv[1][1] / kv[1][0]):
        below = n >= LEFT_OUT and agreed < AGREE * n
        if below or marked[key]:
            state = "marked" if marked[key] else "NOT MARKED"
            print(f"  {agreed:4d}/{n:<4d} {agreed / n:6.1%}  {state if below else 'marked, but agrees: unmark'}  "
                  f"{key[0]}: {key[1]}")


def report(name: str, figures: Figures, confusions: bool) -> None:
    """Print the figures against the targets, per kind, the paraphrase spread and the confusions."""
    rows = figures.rows
    print(f"\n== {name}: {len(rows)} answers, {sum(r.honest for r in rows)} honest")
    for figure, value in figures.summary().items():
        target = TARGETS[figure]
        ok = value >= target if figure == "honest-full credit" else value <= target
        print(f"  {figure:34s} {value:6.1%}  target {'>=' if figure == 'honest-full credit' else '<='} "
              f"{target:.0%}  {'met' if ok else 'NOT MET'}")
    spreads = figures.spreads()
    within = sum(s <= 1 for _, s, _ in spreads)
    print(f"  paraphrase groups within one point  {within}/{len(spreads)}"
          + (f" (widest {max(s for _, s, _ in spreads):.1f})" if spreads else ""))
    agree = sum(n for (label, verdict), n in figures.concept.items() if label is verdict)
    total = sum(figures.concept.values())
    print(f"  concept decisions agreeing with the label  {agree}/{total} ({agree / max(total, 1):.1%}); "
          "label -> scorer: " + ", ".join(f"{label.value}->{verdict.value} {n}"
                                          for (label, verdict), n in sorted(figures.concept.items())
                                          if label is not verdict))
    if figures.second:  # how far two careful people are apart on the same answers: the ceiling to read the figures by
        same = sum(n for (a, b), n in figures.second.items() if a is b)
        offs = [r.second_off for r in rows if r.second_off is not None]
        print(f"  a second labeller against the first: concepts {same / sum(figures.second.values()):.1%} the same, "
              f"off by a point or more on {sum(o >= 1 - 1e-9 for o in offs) / len(offs):.1%} of answers")
    print("  per kind: n, mean credit, labeller's mean, confident, confident and wrong")
    for kind in sorted({r.kind for r in rows}):
        mine = [r for r in rows if r.kind == kind]
        print(f"    {kind:22s} {len(mine):4d}  {statistics.fmean(r.points / r.max_points for r in mine):6.1%}  "
              f"{statistics.fmean(r.label / r.max_points for r in mine):6.1%}  "
              f"{sum(r.confident for r in mine):4d}  {sum(r.confident and r.off >= 1 for r in mine):3d}")
    wrong = [r for r in rows if r.confident and r.off >= 1]
    print(f"  confident and wrong ({len(wrong)}):")
    for r in wrong:
        quote(r)
    for group, spread, members in spreads:
        if spread > 1:
            print(f"  paraphrases {group} spread {spread:.1f}: " + ", ".join(f"{r.points:g}" for r in members))
    if confusions:
        print("  every other answer off the label:")
        for r in rows:
            if r.off > 0 and not (r.confident and r.off >= 1):
                quote(r)


def quote(r: Scored) -> None:
    labels = r.answer.get("labels", {})
    diffs = [f"{c.name!r}: label {labels.get(c.name, '?')}, scorer {v.value}"
             + (f" from '{r.evidence[c.name]}'" if c.name in r.evidence else "")
             for c, v in zip(r.item.concepts, r.verdicts) if LABEL.get(labels.get(c.name)) not in (None, v)]
    print(f"    [{r.kind}] {r.item.id} scorer {r.points:g} label {r.label:g} "
          f"{'confident' if r.confident else 'unsure'} flags={list(r.flags)}\n      {r.answer['text'][:300]!r}")
    for d in diffs:
        print(f"      {d}")


def keyword_baseline(text: str, item: Item) -> float:
    """The classic keyword matcher, for the time comparison: a concept counts if one phrasing's words all occur."""
    words = {canon(w) for w in text.lower().split()}
    return sum(any({w.stem for w in compile_phrasing(p)} <= words for p in c.phrasings) for c in item.concepts)


def per_answer_ms(rows: list[Scored]) -> tuple[float, float]:
    """Mean CPU ms per answer, warm, for the scorer and for the keyword baseline in the same process."""
    start = time.process_time()
    for r in rows:
        grade(r.item, r.answer["text"])
    scorer = (time.process_time() - start) * 1000 / max(len(rows), 1)
    start = time.process_time()
    for r in rows:
        keyword_baseline(r.answer["text"], r.item)
    return scorer, (time.process_time() - start) * 1000 / max(len(rows), 1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ftlab.bench scorer", description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, action="append", dest="sets",
                        help="a labelled answer set (TOML, [[answers]]); repeatable; default benchmarks/scorer/*.toml")
    parser.add_argument("--bank", type=Path, action="append", help="a bank folder besides the public bank")
    parser.add_argument("--confusions", action="store_true", help="also quote every unsure answer off the label")
    parser.add_argument("--calibration", action="store_true",
                        help="only say which concepts to mark check_when_absent, from the sets' labels")
    parser.add_argument("--leave-out", action="store_true",
                        help="read each set as if nobody had labelled it: its family's answers out of the reader")
    parser.add_argument("--pack", action="store_true",
                        help="only write each bank folder's labelled.json.gz from the sets (the reader's answers)")
    args = parser.parse_args(argv)
    sets = args.sets or sorted(SETS.glob("*.toml"))
    missing = [str(s) for s in sets if not s.is_file()]
    if missing or not sets:
        parser.error(f"no labelled set at {', '.join(missing) or SETS}")
    if args.pack:
        for path in pack(sets, [ITEMS_DIR] + (args.bank or ([COURSE_BANK] if COURSE_BANK.is_dir() else []))):
            print(f"wrote {path}")
        return None
    items = items_of(args.bank)
    if args.calibration:
        plain = unflagged(items)
        return calibration([r for path in sets for r in measure(path, plain).rows], items)
    every: list[Scored] = []
    for path in sets:
        figures = measure(path, left_out(items, path) if args.leave_out else items)
        report(path.name, figures, args.confusions)
        every += figures.rows
    scorer, base = per_answer_ms(every)
    print(f"\nCPU time per answer (warm): scorer {scorer:.2f} ms, keyword baseline {base:.3f} ms in the same process "
          f"({scorer / max(base, 1e-9):.0f}x)")


if __name__ == "__main__":
    main()
