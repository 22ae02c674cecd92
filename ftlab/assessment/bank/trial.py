"""`ftlab bank try ITEM "answer"`: how the scorer reads one answer, concept by concept, with the words that decided
each, so an instructor can test a free-text item (also one not yet in the bank: --bank FILE) before a class sees it."""
from __future__ import annotations

import argparse
from pathlib import Path

from ftlab.assessment.bank.grading import Context, grade
from ftlab.assessment.bank.items import Card, Explain, Item
from ftlab.assessment.bank.loader import Bank, BankError, load_bank, load_file
from ftlab.assessment.bank.reader import chances


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("item", help="the id of an explain item or a recall card with concepts")
    parser.add_argument("answer", nargs="+", help="the answer to score (quote it, or give it as several words)")
    parser.add_argument("--bank", type=Path, action="append",
                        help="a bank file or folder to read the item from (default: the public bank); repeatable")
    parser.add_argument("--shown", action="store_true",
                        help="treat the model answer as on screen while answering (the paste guard applies)")


def find(item_id: str, banks: list[Path] | None) -> Item:
    """The item from the given bank files or folders (or the public bank); a clear error names what exists."""
    items: list[Item] = []
    for source in banks or [None]:
        if source is not None and not source.exists():
            raise SystemExit(f"error: --bank {source}: no such file or folder")
        items += load_file(source) if source is not None and source.is_file() else load_bank(source).items
    bank = Bank(items)
    try:
        item = bank.get(item_id)
    except KeyError:
        scorable = [i.id for i in items if getattr(i, "concepts", None)]
        raise SystemExit(f"error: no item {item_id!r} here; items with concepts: {', '.join(scorable)}") from None
    if not isinstance(item, (Explain, Card)) or not item.concepts:
        raise SystemExit(f"error: {item_id!r} is a {item.kind} item without concepts: only explain items and recall "
                         "cards with [[items.concepts]] are scored on free text")
    return item


def describe(item: Item, answer: str, shown: bool = False) -> str:
    """Each concept's decision with its evidence, then the guards, the score and whether the scorer is sure."""
    model = item.model_answer if isinstance(item, Explain) else item.answer
    result = grade(item, answer, Context(shown=(model,) if shown else (), for_instructor=True))
    decided = {name: (verdict, words) for name, verdict, words in result.evidence}
    read = chances(item, answer)
    lines = [f"{item.id}: {item.prompt}"]
    for i, concept in enumerate(item.concepts):
        verdict, words = decided.get(concept.name, ("not addressed", ""))
        lines.append(f"  {verdict:13s} {concept.name}" + (f"\n                you wrote: '{words}'" if words else "")
                     + (f"\n                people's labels on answers like it: {read[i]:.0%} stated" if read else ""))
    if result.diagnosis:
        lines.append(f"  misconception: {result.diagnosis}")
    if result.flags:
        lines.append(f"  guards: {', '.join(result.flags)}")
    lines.append(f"  score {result.score:g} of {result.max_score:g}, "
                 f"{'confident' if result.confident else 'unsure: a person would confirm it'}")
    lines.append(f"  feedback: {result.feedback}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        item = find(args.item, args.bank)
    except BankError as err:
        raise SystemExit(f"error: {err}") from None
    print(describe(item, " ".join(args.answer), args.shown))
    return 0
