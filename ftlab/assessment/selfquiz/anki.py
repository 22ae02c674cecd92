"""Export the self-study bank as an Anki deck (.apkg) with genanki: one note per item, tagged by topic."""
from __future__ import annotations

import zlib
from html import escape
from pathlib import Path

import genanki

from ftlab.assessment.bank import Bank, Card, Choice, Explain, Item
from ftlab.assessment.bank.kinds import KINDS, view

# Stable ids, so re-importing an updated export updates the same deck and notes in Anki instead of duplicating them.
DECK_ID = zlib.crc32(b"ftlab fine-tuning deck")
MODEL_ID = zlib.crc32(b"ftlab question model v1")
MODEL = genanki.Model(
    MODEL_ID, "ftlab question",
    fields=[{"name": "ItemId"}, {"name": "Front"}, {"name": "Back"}],
    templates=[{"name": "Recall", "qfmt": "{{Front}}",
                "afmt": "{{FrontSide}}<hr id=answer>{{Back}}<br><small>{{ItemId}}</small>"}],
    sort_field_index=0,
)


def sides(item: Item) -> tuple[str, str]:
    """(front, back) HTML of one item by its kind (ftlab.assessment.bank.kinds): the prompt, then the answer and why.
    A coding exercise has none: it needs live objects, not a flashcard."""
    return view(item, "anki")(item)


def choice_sides(item: Choice) -> tuple[str, str]:
    """The prompt with its lettered options; the right option, the explanation and each wrong option's mistake."""
    front = escape(item.prompt)
    if item.kind != "truefalse":
        front += "<ol type='A'>" + "".join(f"<li>{escape(o)}</li>" for o in item.options) + "</ol>"
    back = f"{item.letters[item.answer]}) {escape(item.options[item.answer])}<br>{escape(item.explanation)}"
    if item.mistakes:
        back += "<br><i>Common mistakes:</i><ul>" + "".join(
            f"<li>{item.letters[i]}: {escape(t)}</li>" for i, t in sorted(item.mistakes.items())) + "</ul>"
    return front, back


def explain_sides(item: Explain) -> tuple[str, str]:
    """The question; the model answer."""
    return escape(item.prompt), escape(item.model_answer)


def card_sides(item: Card) -> tuple[str, str]:
    """The question; the answer, line breaks kept."""
    return escape(item.prompt), escape(item.answer).replace("\n", "<br>")


def export_deck(bank: Bank, path: Path | str, kinds: tuple[str, ...] = tuple(k for k, v in KINDS.items() if v.anki),
                name: str = "ftlab: fine-tuning vision models") -> int:
    """Write the bank's items of these kinds to an .apkg file; returns the number of notes."""
    deck = genanki.Deck(DECK_ID, name)
    for item in bank.items:
        if item.kind in kinds and not item.retired:
            front, back = sides(item)
            deck.add_note(genanki.Note(model=MODEL, fields=[item.id, front, back],
                                       tags=[f"ftlab::{item.topic}", item.difficulty], guid=genanki.guid_for(item.id)))
    genanki.Package(deck).write_to_file(str(path))
    return len(deck.notes)
