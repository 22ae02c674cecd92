"""What the public question bank gives away about the course: graded course items that resemble a public one, and
sentences of a student's answer copied from public answers.

The public bank ships in the wheel (ftlab/assessment/bank/items/), with its answers, model answers, solutions and
explanations. A course item whose prompt and answer read like a public item's can be answered by looking it
up, so `ftlab course build` refuses it (`similar_items`); in grading, sentences of a written answer that
match a public answer text count for nothing and flag the answer for a person (`public_sentences`).
Similarity is rapidfuzz's (0-100): token_sort_ratio for prompts and sentences, token_set_ratio for answers.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from ftlab.assessment.bank import Bank, Card, Choice, Exercise, Explain, Item, load_bank

SAME_PROMPT = 75  # two prompts this similar ask the same question
SAME_TOPIC = 55  # prompts this similar are on one topic; then a shared answer gives the course item away
SAME_ANSWER = 85  # the course item's answer against a public answer text (token_set_ratio: one inside the other)
MIN_ANSWER = 15  # characters: a shorter answer ("B", "False") is no text to copy
SENTENCE_SIMILARITY = 88  # one sentence of an answer against one sentence of a public answer text
MIN_SENTENCE = 25  # characters: shorter sentences ("Yes.", "Freeze it.") are everyone's words


@dataclass(frozen=True)
class Similar:
    """A course item that reads like a public one: its id, the public item's id and their similarity (0-100)."""

    course: str
    public: str
    score: float


def key(item: Item) -> str:
    """The item's answer as text: the right option, the card's answer, the model answer or the solution code."""
    if isinstance(item, Choice):
        return item.options[item.answer] if item.kind == "choice" else str(item.answer == 0)
    if isinstance(item, Card):
        return item.answer
    if isinstance(item, Explain):
        return item.model_answer
    return item.solution if isinstance(item, Exercise) else ""


def answer_texts(item: Item) -> list[str]:
    """Every text of a public item a student could copy as an answer."""
    fields = ("answer", "solution", "model_answer", "explanation", "hint")
    texts = [getattr(item, name) for name in fields if isinstance(getattr(item, name, None), str)]
    if isinstance(item, Choice):
        texts += list(item.mistakes.values())
    return [text for text in texts if text]


def similar_items(course: Bank, public: Bank | None = None) -> list[Similar]:
    """Course items that ask what a public item asks (similar prompts), or that a public item on the same topic
    answers (similar answer text); most similar first."""
    public = public if public is not None else load_bank()
    found = []
    for item in course.items:
        answer = key(item)
        for other in public.items:
            prompt = fuzz.token_sort_ratio(item.prompt, other.prompt, processor=str.lower)
            shared = max((fuzz.token_set_ratio(answer, text, processor=str.lower)
                          for text in [key(other), *answer_texts(other)] if len(text) >= MIN_ANSWER),
                         default=0.0) if len(answer) >= MIN_ANSWER else 0.0
            if prompt >= SAME_PROMPT or prompt >= SAME_TOPIC and shared >= SAME_ANSWER:
                found.append(Similar(item.id, other.id, round(max(prompt, shared), 1)))
    return sorted(found, key=lambda s: -s.score)


def sentences(text: str) -> list[str]:
    """The text's sentences (split after . ! ? ; or a line break), stripped."""
    return [s.strip() for s in re.split(r"(?<=[.!?;])\)?\s+|\n+|\s+\d+\)\s+", text) if s and s.strip()]


@functools.lru_cache(maxsize=1)
def _public_sentences() -> tuple[str, ...]:
    return tuple(sorted({s for item in load_bank().items for text in answer_texts(item) for s in sentences(text)
                         if len(s) >= MIN_SENTENCE}))


def public_sentences(answer: str) -> tuple[str, list[str]]:
    """The answer without the sentences copied from the public bank's answer texts, and those sentences; nothing
    is left of an answer that is mostly copied."""
    public = _public_sentences()
    kept, copied = [], []
    for sentence in sentences(answer):
        match = len(sentence) >= MIN_SENTENCE and process.extractOne(
            sentence, public, scorer=fuzz.token_sort_ratio, processor=str.lower, score_cutoff=SENTENCE_SIMILARITY)
        (copied if match else kept).append(sentence)
    if sum(map(len, copied)) >= sum(map(len, kept)):  # mostly a paste: its short leftovers are the paste's too
        return "", copied + kept
    return " ".join(kept), copied
