"""Grade any bank item from a plain Python answer; malformed answers score 0 with a message, never raise."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftlab.assessment.bank.items import RATINGS, Card, Choice, Explain, Grade, Item, Outcome
from ftlab.assessment.bank.kinds import KINDS
from ftlab.assessment.bank.reader import second_opinion
from ftlab.assessment.bank.scorer import ZEROING, Scored, Verdict, score

CARD_SCORES = {"again": 0.0, "hard": 0.5, "good": 1.0, "easy": 1.0}


@dataclass(frozen=True)
class Context:
    """Where a free-text answer is graded: the text on screen while it was written (text pasted from it earns
    nothing), the hints taken before it (repeating one earns nothing; one never shown is the learner's own words)
    and whether the feedback is for a person confirming the score rather than for the learner."""

    shown: tuple[str, ...] = ()  # e.g. the model answer shown earlier in this same attempt; never a past session's
    hints: tuple[str, ...] = ()  # the rungs of the item's hint ladder shown before this answer
    for_instructor: bool = False


def grade(item: Item, answer: Any, context: Context = Context()) -> Grade:
    """Grade with the function of the item's kind (ftlab.assessment.bank.kinds); exercises need live objects, so pass a dict
    of them (e.g. {"model": m}). The context matters to free text only (explain items, typed recall)."""
    if not isinstance(item, Item) or item.kind not in KINDS:
        raise TypeError(f"not a bank item: {item!r}")
    if not isinstance(context, Context):
        raise TypeError(f"context must be a grading Context, not {context!r}")
    function = KINDS[item.kind].function("grade")
    return function(item, answer, context) if isinstance(item, (Explain, Card)) else function(item, answer)


def not_attempted(item_id: str, max_score: float, expected: str) -> Grade:
    """Zero-score grade for a missing or malformed answer, saying what was expected."""
    return Grade(item_id, 0.0, max_score, False, f"No usable answer: expected {expected}.",
                 outcome=Outcome.NOT_ATTEMPTED)


def choice_index(item: Choice, answer: Any) -> int | None:
    """Read an index, a letter, the option text or (true/false only) a bool; None if it is none of those."""
    if isinstance(answer, bool):
        return (0 if answer else 1) if item.kind == "truefalse" else None
    if isinstance(answer, int):
        return answer if 0 <= answer < len(item.options) else None
    if isinstance(answer, str):
        text = answer.strip()
        folded = [option.casefold() for option in item.options]
        if text.casefold() in folded:
            return folded.index(text.casefold())
        letter = text.rstrip(".)").strip().upper()
        if letter in item.letters:
            return item.letters.index(letter)
        if item.kind == "truefalse" and text.casefold() in {"t", "f", "yes", "no"}:
            return 0 if text.casefold() in {"t", "yes"} else 1
    return None


def grade_choice(item: Choice, answer: Any) -> Grade:
    """Score 1 for the correct option; a wrong option gets the mistake that usually leads to it."""
    index = choice_index(item, answer)
    if index is None:
        letters = "/".join(item.letters)
        extra = ", True/False" if item.kind == "truefalse" else ""
        return not_attempted(item.id, 1.0, f"an option letter {letters}, an index 0..{len(item.options) - 1}"
                             f"{extra} or the text of an option")
    right = f"{item.letters[item.answer]}) {item.options[item.answer]}"
    if index == item.answer:
        return Grade(item.id, 1.0, 1.0, True, f"Yes, {right}. {item.explanation}")
    return Grade(item.id, 0.0, 1.0, False, f"Not quite: the answer is {right}. {item.explanation}",
                 diagnosis=item.mistakes.get(index))


def grade_explain(item: Explain, answer: Any, context: Context = Context()) -> Grade:
    """One point per rubric concept the text asserts; contradicted ones score 0 and name the misconception."""
    if not isinstance(answer, str) or not answer.strip():
        return not_attempted(item.id, float(len(item.concepts)), "a few sentences of free text")
    return concept_grade(item, answer, float(len(item.concepts)), context)


def grade_card(item: Card, answer: Any, context: Context = Context()) -> Grade:
    """A self-rating (again/hard/good/easy or 1-4) is taken as given, and is the review rating the Grade carries;
    typed text is scored on the card's concepts."""
    rating = card_rating(answer)
    if rating is not None:
        return Grade(item.id, CARD_SCORES[rating], 1.0, rating != "again", f"Rated {rating}. Answer: {item.answer}",
                     rating=rating)
    if item.concepts and isinstance(answer, str) and answer.strip():
        return concept_grade(item, answer, 1.0, context)
    expected = "a self-rating: again, hard, good or easy (or 1-4)"
    return not_attempted(item.id, 1.0, expected + (", or your answer in words" if item.concepts else ""))


def concept_decisions(item: Explain | Card, answer: str, max_score: float, context: Context) -> Scored:
    """The scorer's decision on each of the item's concepts for this answer, read a second time against the answers
    people labelled for the item (reader.py), and sure only where both readings agree: what grading and the class
    report read."""
    result = score(answer, item.concepts, prompt=item.prompt, hints=context.hints, shown=context.shown,
                   max_score=max_score)
    return second_opinion(result, item, answer, max_score)


def concept_grade(item: Explain | Card, answer: str, max_score: float, context: Context) -> Grade:
    """Score free text on the item's concepts, scaled to max_score, with the words behind each decision, guard flags
    and the scorer's confidence."""
    result = concept_decisions(item, answer, max_score, context)
    k, n = result.credited, len(item.concepts)
    return Grade(item.id, max_score * k / n, max_score, k == n, concept_feedback(result, context.for_instructor),
                 missing=[d.concept.name for d in result.decisions if d.verdict is not Verdict.ASSERTED],
                 diagnosis="; ".join(d.misconception for d in result.decisions if d.misconception) or None,
                 confident=result.confident, flags=result.flags,
                 evidence=tuple((d.concept.name, d.verdict.value, d.evidence) for d in result.decisions if d.evidence))


GUARD_NOTES = {
    "keyword-list": "a list of keywords states nothing, so it earns nothing",
    "no-statement": "words without a sentence around them state nothing, so they earn nothing",
    "fragment": "a phrase without a verb was read as the claim it names; a person confirms what it meant",
    "prompt-echo": "repeating the question earns nothing",
    "hint-echo": "repeating the hint earns nothing",
    "pasted-model-answer": "text copied from the model answer on screen earns nothing",
    "pasted-concept-names": "copied concept names earn nothing",
    "self-contradiction": "a claim and its misconception side by side: the misconception counts",
    "padding": "fluent filler words read as a claim: a person confirms the answer says it",
}
UNSURE = {True: "This score is a suggestion for a person to confirm.",
          False: "The scorer is not sure of this one: compare your answer with the model answer and rate yourself."}


def concept_feedback(result: Scored, for_instructor: bool = False) -> str:
    """'You covered k of n concepts', each credited or contradicted one with the words that decided it, what is
    missing and which guards fired; the note on an unsure score is worded for its reader."""
    absent = [d.concept.name for d in result.decisions if d.verdict is Verdict.ABSENT]
    text = f"You covered {result.credited} of {len(result.decisions)} concepts."
    for d in result.decisions:
        if d.verdict is Verdict.ASSERTED:
            learned = "; no phrasing matched, but people read answers like it so" if d.learned else ""
            text += f" Covered: {d.concept.name} (you wrote: '{d.evidence}'{learned})."
        elif d.verdict is Verdict.CONTRADICTED:
            said = f"; that is the misconception: {d.misconception}" if d.misconception else ", which says the opposite"
            text += f" Contradicted: {d.concept.name} (you wrote: '{d.evidence}'{said})."
            if d.against:
                text += f" Yet '{d.against}' states it."
    if absent:
        text += " Missing: " + "; ".join(absent) + "."
    notes = [GUARD_NOTES[f] for f in result.flags if f in GUARD_NOTES and f in ZEROING]
    if notes:
        text += " Not credited: " + "; ".join(notes) + "."
    checks = [GUARD_NOTES[f] for f in result.flags if f in GUARD_NOTES and f not in ZEROING]
    if result.doubted:
        checks.append("answers people labelled rarely say " + "; ".join(result.doubted) + " in words like these")
    if checks:
        text += " To check: " + "; ".join(checks) + "."
    if not result.confident:
        text += " " + UNSURE[for_instructor]
    return text


def card_rating(answer: Any) -> str | None:
    """The rating word for a word or an int 1-4 (fsrs numbering); None for anything else."""
    if isinstance(answer, str):
        word = answer.strip().lower()
        return word if word in RATINGS else None
    if isinstance(answer, int) and not isinstance(answer, bool) and 1 <= answer <= 4:
        return RATINGS[answer - 1]
    return None
