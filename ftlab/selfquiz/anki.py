"""Export the self-study bank as an Anki deck (.apkg) with genanki: one note per item, tagged by topic."""
from __future__ import annotations

import zlib
from html import escape
from pathlib import Path

import genanki

from ftlab.bank import Bank, Card, Choice, Explain, Item

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
    """(front, back) HTML of one item: the prompt (with options), then the answer and why."""
    front = escape(item.prompt)
    if isinstance(item, Choice):
        if item.kind != "truefalse":
            front += "<ol type='A'>" + "".join(f"<li>{escape(o)}</li>" for o in item.options) + "</ol>"
        back = f"{item.letters[item.answer]}) {escape(item.options[item.answer])}<br>{escape(item.explanation)}"
        if item.mistakes:
            back += "<br><i>Common mistakes:</i><ul>" + "".join(
                f"<li>{item.letters[i]}: {escape(t)}</li>" for i, t in sorted(item.mistakes.items())) + "</ul>"
    elif isinstance(item, Explain):
        back = escape(item.model_answer)
    elif isinstance(item, Card):
        back = escape(item.answer).replace("\n", "<br>")
    else:
        raise TypeError(f"{item.id!r} is a {item.kind} item; coding exercises need live objects, not a flashcard")
    return front, back


def export_deck(bank: Bank, path: Path | str, kinds: tuple[str, ...] = ("card", "choice", "truefalse", "explain"),
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
