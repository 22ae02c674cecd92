"""A second reader learned from answers people labelled: how likely a person would call each concept stated.

The rules (`scorer`) decide every concept and quote the words behind it. This reader says where they are likely
wrong, so that the scorer is sure where both readings agree and a person looks where they do not; and where it is all
but sure of a concept the rules left out, it credits it, quoting the part of the answer that states it. It is a
logistic regression per concept over word and character n-grams (scikit-learn), fitted on first use from the answers
people labelled for that item (`labelled.json.gz` beside the bank's item files; see the bank's README). On answers it
never learned from it cut the rules' confident mistakes by more than half while sending fewer honest answers to a
person (benchmarks/RESULTS.md); an item nobody has labelled answers for keeps the rules' decisions alone.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from ftlab.assessment.bank.items import Card, Explain
from ftlab.assessment.bank.scorer import (
    COMMON, NEGATIONS, ZEROING, Clause, Decision, Scored, Verdict, _words, clauses, normalize, unexplained,
)

LABELLED = "labelled.json.gz"
LABELLED_FORMAT = 1
FEWEST = 40  # labelled answers an item needs before its reader is trusted (each concept also needs both labels)
SURE, SURE_WITH_RULES = 0.50, 0.60  # the largest chance of being a point off the labeller that is still sure: alone,
# and where the rules are sure too
DOUBTED = 0.10  # a concept credited although the reader gives it less chance than this of being stated: a person looks
CREDITED, SPAN = 0.95, 0.50  # a concept the rules left out or read as contradicted is credited when the reader gives
# the answer this chance of stating it, and one part of the answer alone more than even odds: that part is quoted
CONTEXT_GUARDS = {"pasted-model-answer", "hint-echo", "pasted-concept-names"}  # depend on what was on screen, which
# the reader never sees: the rules' decision stands


@dataclass(frozen=True)
class Labelled:
    """One answer a person labelled: its text and the names of the concepts they found stated in it."""

    text: str
    stated: frozenset[str]


def read_labelled(directory: Path) -> dict[str, tuple[Labelled, ...]]:
    """The labelled answers kept beside a bank's item files, by item id; none when the folder has no such file."""
    path = Path(directory) / LABELLED
    if not path.is_file():
        return {}
    data = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
    if data.get("format") != LABELLED_FORMAT:
        raise ValueError(f"{path}: expected format {LABELLED_FORMAT}, found {data.get('format')!r}")
    return {item: tuple(Labelled(text, frozenset(stated)) for text, stated in answers)
            for item, answers in data["items"].items()}


def write_labelled(directory: Path, answers: dict[str, list[tuple[str, list[str]]]]) -> Path:
    """Write labelled answers (item id -> [(text, concepts stated)]) beside a bank's items, byte for byte the same
    for the same answers."""
    body = {"format": LABELLED_FORMAT,
            "items": {item: sorted([text, sorted(stated)] for text, stated in rows) for item, rows in
                      sorted(answers.items())}}
    path = Path(directory) / LABELLED
    path.write_bytes(gzip.compress(json.dumps(body, ensure_ascii=False, indent=0).encode("utf-8"), mtime=0))
    return path


@lru_cache(maxsize=64)
def _fitted(names: tuple[str, ...], labelled: tuple[Labelled, ...]):
    """The vectoriser and one classifier per concept (where its labels never differ, the share stated instead)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_union

    words = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
                       TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2))
    x = words.fit_transform([a.text for a in labelled])
    models = []
    for name in names:
        y = np.array([name in a.stated for a in labelled])
        both = 0 < y.sum() < len(y)
        models.append(LogisticRegression(C=16, solver="liblinear").fit(x, y) if both else float(y.mean()))
    return words, models


def chances(item: Explain | Card, answer: str) -> list[float] | None:
    """For each concept, the chance a person would call it stated in this answer; None without enough labels. The
    item's own full answers (model answer, solution) count as labelled by their author, every concept stated."""
    if len(item.labelled) < FEWEST:
        return None
    names = tuple(c.name for c in item.concepts)
    full = (item.model_answer if isinstance(item, Explain) else item.answer, item.solution)
    words, models = _fitted(names, item.labelled + tuple(Labelled(text, frozenset(names)) for text in full if text))
    x = words.transform([answer])
    return [float(m.predict_proba(x)[0, 1]) if not isinstance(m, float) else m for m in models]


def off_by_a_point(stated: list[float], points: float, max_score: float) -> float:
    """The chance that a person's score (each concept stated with its own chance) is a point or more from `points`."""
    share = max_score / len(stated)
    spread = {0: 1.0}  # concepts stated -> probability
    for p in stated:
        spread = {k: spread.get(k, 0.0) * (1 - p) + spread.get(k - 1, 0.0) * p for k in range(len(spread) + 1)}
    return sum(chance for k, chance in spread.items() if abs(k * share - points) >= 1 - 1e-9)


def says_nothing(result: Scored, parts: list[Clause]) -> bool:
    """An answer the rules found no concept in and no part of which says anything of its own ("I do not know."):
    its sure zero stands, since for so few words the reader gives each concept little more than how often answers
    state it."""
    return all(d.verdict is Verdict.ABSENT for d in result.decisions) and \
        not unexplained(result.decisions, parts, COMMON)


def open_to(decision: Decision) -> bool:
    """Whether the reader may credit this concept: left out, or contradicted by a misconception's phrasing or an
    opposite word, which people often read otherwise; never one a plain negation denies, which word counts miss."""
    if decision.verdict is Verdict.ABSENT:
        return True
    return decision.verdict is Verdict.CONTRADICTED and bool(decision.misconception or decision.opposite_only)


def learned_credit(decision: Decision, index: int, parts: dict[str, list[float]]) -> Decision:
    """Credit a concept the rules left out or read as contradicted, quoting the part of the answer that reads most
    like it (`parts`: each part's chances), when that part alone reads as stating it more often than not (SPAN);
    otherwise the rules' decision stands: no quote, no credit."""
    best = max(parts, key=lambda part: parts[part][index], default="")
    if not best or parts[best][index] < SPAN:
        return decision
    return replace(decision, verdict=Verdict.ASSERTED, evidence=best, learned=True, misconception=None,
                   opposite_only=False, against="")


def second_opinion(result: Scored, item: Explain | Card, answer: str, max_score: float) -> Scored:
    """The rules' result, with concepts they left out or read as contradicted credited where the reader is all but
    sure (CREDITED) and a part of the answer that negates nothing and was not credited for another concept states
    them; sure only where the reader agrees: a point off is unlikely (SURE, or SURE_WITH_RULES where the rules are
    sure too) and no credit went to a concept the reader finds all but absent (DOUBTED)."""
    stated = chances(item, answer)
    if stated is None or CONTEXT_GUARDS & set(result.flags):
        return result
    answer_clauses = clauses(answer)
    if says_nothing(result, answer_clauses):
        return result
    open_ones = [i for i, (d, p) in enumerate(zip(result.decisions, stated)) if p >= CREDITED and open_to(d)]
    if open_ones and not ZEROING & set(result.flags):  # never for an answer the rules found states nothing
        read = {d.evidence for d in result.decisions if d.verdict is Verdict.ASSERTED}  # parts credited for a concept
        # that often comes with another one ("load and freeze" with "replace the head"), which they do not state
        parts = {c.span: chances(item, c.span) for c in answer_clauses if c.states and c.span  # a statement,
                 and NEGATIONS.isdisjoint(_words(normalize(c.span)))  # with no negation, which word counts miss,
                 and not any(c.span in r or r in c.span for r in read)}  # and not read already
        result = replace(result, decisions=[learned_credit(d, i, parts) if i in open_ones else d
                                            for i, d in enumerate(result.decisions)])
    points = max_score * result.credited / len(result.decisions)
    doubted = tuple(d.concept.name for d, p in zip(result.decisions, stated)
                    if d.verdict is Verdict.ASSERTED and p < DOUBTED)
    risk = off_by_a_point(stated, points, max_score)
    sure = not doubted and (risk < SURE or (result.confident and risk < SURE_WITH_RULES))
    return replace(result, confident=sure, doubted=doubted)
