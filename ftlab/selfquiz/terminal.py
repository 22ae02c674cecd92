"""`ftlab quiz` and `ftlab revise`: plain-text prompts on stdin/stdout, no Jupyter needed."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from ftlab.bank import DIFFICULTIES, Bank, Card, Choice, Explain, Item, load_bank
from ftlab.bank.grading import card_rating, choice_index
from ftlab.selfquiz.revise import REVISABLE, Reviser, ReviseConfig
from ftlab.selfquiz.session import QuizSession, pick
from ftlab.selfquiz.store import Store, StoreError

SKIP = object()


def ask(item: Item, read: Callable[[str], str], write: Callable[[str], None]) -> Any:
    """Prompt for one item until the reply is usable; '?' shows the hint, an empty reply skips."""
    write(f"\n[{item.topic} / {item.difficulty}] {item.prompt}")
    if isinstance(item, Card):
        read("(press Enter to reveal the answer) ")
        write(item.answer)
    elif isinstance(item, Choice):
        for letter, option in zip(item.letters, item.options):
            write(f"  {letter}) {option}")
    while True:
        if isinstance(item, Card):
            reply = read("How well did you recall it? again / hard / good / easy: ").strip()
        else:
            reply = read("Your answer ('?' for a hint, Enter to skip): ").strip()
        if not reply:
            return SKIP
        if reply == "?" and not isinstance(item, Card):
            write(f"Hint: {item.hint}")
            continue
        if isinstance(item, Card) and card_rating(reply) is None:
            write("Please type again, hard, good or easy.")
            continue
        if isinstance(item, Choice) and choice_index(item, reply) is None:
            write(f"Please type one of {', '.join(item.letters)}.")
            continue
        return reply


def run(session: QuizSession, read: Callable[[str], str] = input, write: Callable[[str], None] = print) -> None:
    """Ask every item of the session, printing feedback, explanation and diagnosis after each answer."""
    for item in session.items:
        try:
            reply = ask(item, read, write)
        except EOFError:
            write("\nStopped early; every answer so far is saved.")
            break
        if reply is SKIP:
            write("Skipped.")
            continue
        result = session.submit(item.id, reply)
        write(f"{result.outcome.value}: {result.feedback}")
        if result.diagnosis:
            write(f"Likely mistake: {result.diagnosis}")
        if isinstance(item, Explain):
            write(f"One good answer: {item.model_answer}")
    write("\n" + session.summary())


def _reviser(args: argparse.Namespace, write: Callable[[str], None], bank: Bank | None = None) -> Reviser | None:
    if args.no_save:
        return None
    try:
        store = Store(learner=args.learner)
    except StoreError as err:
        write(f"{err}\nContinuing without saving progress.")
        return None
    return Reviser(bank or load_bank(), store, ReviseConfig(new_per_session=args.n))


def quiz_command(args: argparse.Namespace, read=input, write=print) -> None:
    """A practice quiz by topic and/or difficulty (mixed across topics when neither is given)."""
    bank = load_bank()
    try:
        items = pick(bank, args.topic, args.difficulty, args.n, kinds=REVISABLE, seed=args.seed)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    run(QuizSession(items, _reviser(args, write, bank)), read, write)


def revise_command(args: argparse.Namespace, read=input, write=print) -> None:
    """Ask what fsrs says is due (then new items), and print per-topic mastery."""
    reviser = _reviser(args, write)
    if reviser is None:
        raise SystemExit("revise needs the progress store; see the message above.")
    if not args.summary:
        try:
            items = reviser.due(topic=args.topic)[: args.n]
        except ValueError as err:
            raise SystemExit(str(err)) from None
        if items:
            write(f"{len(items)} item(s) to revise.")
            run(QuizSession(items, reviser, source="revise"), read, write)
        else:
            write("Nothing is due right now. Come back later.")
    write("\nMastery by topic:")
    for line in reviser.mastery():
        write(str(line))


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register the quiz and revise subcommands on an argparse subparser set."""
    for name, run_it, text in (("quiz", quiz_command, "practice questions with instant feedback"),
                               ("revise", revise_command, "spaced-repetition revision of what is due")):
        parser = sub.add_parser(name, help=text)
        parser.add_argument("--topic", help="only this topic")
        parser.add_argument("-n", type=int, default=10, help="how many items (default 10)")
        parser.add_argument("--learner", help="whose progress to use (default: $FTLAB_LEARNER or login name)")
        parser.add_argument("--no-save", action="store_true", help="do not record answers")
        if name == "quiz":
            parser.add_argument("--difficulty", choices=DIFFICULTIES)
            parser.add_argument("--seed", type=int, help="repeatable choice and order of items")
        else:
            parser.add_argument("--summary", action="store_true", help="only print mastery by topic")
        parser.set_defaults(run=run_it)


def main(argv: list[str] | None = None) -> None:
    """Entry point for `python -m ftlab.selfquiz.terminal quiz|revise ...`."""
    parser = argparse.ArgumentParser(prog="ftlab")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
