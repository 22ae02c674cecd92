"""`ftlab quiz` and `ftlab revise`: plain-text prompts on stdin/stdout, no Jupyter (and no torch) needed."""
from __future__ import annotations

import argparse
import os
import select
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ftlab.assessment.bank import DIFFICULTIES, RATINGS, Bank, Card, Choice, Explain, Item, Outcome, grade, load_bank
from ftlab.assessment.bank.grading import choice_index
from ftlab.assessment.bank.kinds import view
from ftlab.assessment.bank.review_list import ReviewListError, read_review_list
from ftlab.assessment.selfquiz.report import export_csv, history, report
from ftlab.assessment.selfquiz.revise import REVISABLE, Reviser, ReviseConfig, open_reviser, utcnow
from ftlab.assessment.selfquiz.session import QuizSession, pick, shuffle_options
from ftlab.assessment.selfquiz.store import default_learner

SKIP, UNDO, SUSPEND, BURY, QUIT = (object() for _ in range(5))
COMMANDS = {":undo": UNDO, ":suspend": SUSPEND, ":bury": BURY, ":quit": QUIT}
KEYS = ("Keys: ? a hint (again for a stronger one; cards have none), Enter skips, :undo takes back the last answer, "
        ":suspend / :bury this item, :quit stops (Ctrl-C too); progress is saved after every answer.")


@dataclass(frozen=True)
class CardReply:
    """A card's answer: the learner's rating of their recall and what they typed before revealing, if anything."""

    rating: str
    typed: str | None = None


def pasted_lines() -> int:
    """Lines already waiting on a terminal's input right after a reply: the rest of a paste, read and dropped so
    they cannot answer the next question. 0 when reading from a pipe or file (a script's lines are answers)."""
    if not sys.stdin.isatty():
        return 0
    fd, extra = sys.stdin.fileno(), b""
    while select.select([fd], [], [], 0.05)[0]:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        extra += chunk
    return len(extra.splitlines())


def rating_word(reply: str) -> str | None:
    """again/hard/good/easy, or 1-4 in fsrs numbering; None for anything else."""
    text = reply.strip().lower()
    if text in ("1", "2", "3", "4"):
        return RATINGS[int(text) - 1]
    return text if text in RATINGS else None


def read_text(read: Callable[[str], str], first: str) -> str:
    """A free-text answer over several lines (a paste keeps its lines); an empty line ends it."""
    lines = [first]
    while True:
        line = read("... ")
        if not line.strip():
            return "\n".join(lines)
        lines.append(line)


def ask(session: QuizSession, item: Item, read: Callable[[str], str], write: Callable[[str], None]) -> Any:
    """Prompt for one item until the reply is usable (the item kind's view, ftlab.assessment.bank.kinds); '?' climbs the hint
    ladder, an empty reply skips."""
    write(f"\n[{item.topic} / {item.difficulty}] {item.prompt}")
    return view(item, "terminal")(session, item, read, write)


def reply(session: QuizSession, item: Item, read: Callable[[str], str], write: Callable[[str], None],
          prompt: str = "Your answer: ", hints: bool = True, one_line: bool = True, empty: Any = SKIP) -> Any:
    """One reply that is not a command (`empty` for an empty one, the command otherwise); '?' shows the next hint,
    an unknown ':command' or a multi-line paste where one line is expected is refused and asked again."""
    while True:
        text = read(prompt).strip()
        if one_line and (extra := pasted_lines()):
            write(f"Your paste had {extra + 1} lines; this question takes one line, so none of it was used.")
            continue
        if not text:
            return empty
        if text.lower() in COMMANDS:
            return COMMANDS[text.lower()]
        if text.startswith(":"):
            write(f"Unknown command {text!r}; the commands are {', '.join(COMMANDS)}.")
            continue
        if text == "?":
            write(f"Hint: {session.hint(item.id)}" if hints else "Cards have no hints: recall what you can, then "
                  "press Enter to see the answer.")
            continue
        return text


def ask_card(session: QuizSession, item: Card, read: Callable[[str], str], write: Callable[[str], None]) -> Any:
    """Let the learner write what they recall (optional, saved with the rating), reveal the answer, then read the
    rating of their recall; commands work at both prompts."""
    typed = reply(session, item, read, write, "Recall it (type it if you like; an empty line shows the answer): ",
                  hints=False, one_line=False, empty=None)
    if typed is not None and not isinstance(typed, str):
        return typed
    if typed:
        typed = read_text(read, typed)
        write(f"You wrote: {typed}")
        if item.concepts:  # the scorer's reading helps the learner rate; the rating stays theirs
            write(f"The scorer's reading of it: {grade(item, typed).feedback}")
    write(f"Answer: {item.answer}")
    while True:
        text = reply(session, item, read, write, "How well did you recall it? again/hard/good/easy or 1-4: ",
                     hints=False)
        if not isinstance(text, str):
            return text
        if rating_word(text) is not None:
            return CardReply(rating_word(text), typed or None)
        write("Please type again, hard, good or easy (or 1-4).")


def ask_choice(session: QuizSession, item: Choice, read: Callable[[str], str], write: Callable[[str], None]) -> Any:
    """List the options, then read a letter (or the option's text)."""
    for letter, option in zip(item.letters, item.options):
        write(f"  {letter}) {option}")
    while True:
        text = reply(session, item, read, write)
        if not isinstance(text, str) or choice_index(item, text) is not None:
            return text
        write(f"Please type one of {', '.join(item.letters)}.")


def ask_explain(session: QuizSession, item: Explain, read: Callable[[str], str], write: Callable[[str], None]) -> Any:
    """Read a free-text answer over several lines."""
    write("Type your answer; it may span several lines. An empty line ends it.")
    text = reply(session, item, read, write, one_line=False)
    return read_text(read, text) if isinstance(text, str) else text


def show_result(session: QuizSession, item: Item, result, read, write, practice: bool) -> None:
    """Verdict (partial as partial), the likely mistake, the model answer; a self-rating when the scorer is unsure."""
    label = "Practice (not counted) - " if practice else ""
    if isinstance(item, Card):
        write(f"{label}Recorded: {result.rating if practice else session.ratings.get(item.id, result.rating)}.")
        return
    write(f"{label}{result.outcome.value}: {result.feedback}")
    if result.diagnosis:
        write(f"Likely mistake: {result.diagnosis}")
    if isinstance(item, Explain):
        write(f"One good answer: {item.model_answer}")
    if item.id in session.pending:
        while (word := rating_word(read("The scorer is unsure. Rate your answer: again/hard/good/easy or 1-4: ")))\
                is None:
            write("Please type again, hard, good or easy (or 1-4).")
        recorded = session.rate(item.id, word)
        bound = "" if recorded == word else " (the scorer found a mistake or too little, so it counts no better)"
        write(f"Recorded your rating: {recorded}{bound}.")


def run(session: QuizSession, read: Callable[[str], str] = input, write: Callable[[str], None] = print) -> None:
    """Ask every item, then offer the missed ones again as practice; Ctrl-C or end of input stop cleanly."""
    write(KEYS)
    try:
        _ask_all(session, session.items, read, write, practice=False)
        missed = [i for i in session.items if session.ratings.get(i.id) == "again"]
        if missed and read(f"\nTry the {len(missed)} missed item(s) again as practice (not counted)? [y/N] ")\
                .strip().lower().startswith("y"):
            _ask_all(session, missed, read, write, practice=True)
    except (EOFError, KeyboardInterrupt):
        write("\nStopped early; every answer so far is saved." if session.reviser else "\nStopped early.")
    write("\n" + session.summary())


def _ask_all(session: QuizSession, items: list[Item], read, write, practice: bool) -> None:
    queue = list(items)
    while queue:
        item = queue.pop(0)
        reply = ask(session, item, read, write)
        if reply is QUIT:
            raise EOFError
        if reply is UNDO:
            undone = session.undo()
            write(f"Took back your answer to {undone}; it comes again now." if undone else "Nothing to undo.")
            queue.insert(0, item)
            if undone and undone != item.id:
                queue.insert(0, session.item(undone))
            continue
        if reply in (SUSPEND, BURY):
            write(flag(session, item, reply))
            continue
        if reply is SKIP:
            write("Skipped.")
            continue
        result = (session.submit(item.id, reply.rating, typed=reply.typed) if isinstance(reply, CardReply)
                  else session.submit(item.id, reply))
        if result.outcome is Outcome.NOT_ATTEMPTED:
            write(result.feedback)
            queue.insert(0, item)
            continue
        show_result(session, item, result, read, write, practice)


def flag(session: QuizSession, item: Item, what: object) -> str:
    """Suspend an item (until unsuspended) or bury it until tomorrow."""
    if session.reviser is None:
        return "Nothing is saved in this quiz, so there is nothing to suspend or bury."
    session.set_aside.add(item.id)
    if what is SUSPEND:
        session.reviser.store.set_flag(item.id, suspended=True)
        return f"Suspended {item.id}; `ftlab revise --unsuspend {item.id}` brings it back."
    session.reviser.store.set_flag(item.id, buried_until=utcnow() + timedelta(days=1))
    return f"Buried {item.id} until tomorrow."


def _reviser(args: argparse.Namespace, write: Callable[[str], None], bank: Bank) -> Reviser | None:
    """The learner's reviser with the command's daily limits; None (and why, written) when it cannot be opened."""
    if args.no_save:
        return None
    config = ReviseConfig(**{k: v for k, v in (("new_per_day", getattr(args, "new_per_day", None)),
                                               ("reviews_per_day", getattr(args, "reviews_per_day", None)))
                             if v is not None})
    reviser, why = open_reviser(args.learner, bank, config)
    if why:
        write(why)
    return reviser


def check_clock() -> None:
    """Refuse a bad $FTLAB_NOW before anything is asked or saved."""
    try:
        utcnow()
    except ValueError as err:
        raise SystemExit(str(err)) from None


def quiz_command(args: argparse.Namespace, read=input, write=print) -> None:
    """Practice by topic and/or difficulty (mixed across topics when neither is given): answers are saved as
    practice and never move the revision schedule."""
    check_clock()
    bank = load_bank()
    try:
        items = pick(bank, args.topic, args.difficulty, args.n, kinds=REVISABLE, seed=args.seed)
    except ValueError as err:
        raise SystemExit(str(err)) from None
    session = utcnow().isoformat() if args.seed is None else str(args.seed)
    items = shuffle_options(items, args.learner or default_learner(), session)
    write("Practice only: nothing from this quiz is saved (--no-save)." if args.no_save else
          "Practice: answers are saved as practice and never change your revision schedule (ftlab revise).")
    run(QuizSession(items, _reviser(args, write, bank)), read, write)


def revise_command(args: argparse.Namespace, read=input, write=print) -> None:
    """Ask what is due (reviews and new items counted apart), or manage and report progress."""
    check_clock()
    if args.no_save:
        raise SystemExit("ftlab revise schedules from your saved progress, so it cannot run with --no-save. "
                         "To practise without saving anything, run: ftlab quiz --no-save")
    bank = load_bank()
    reviser = _reviser(args, write, bank)
    if reviser is None:
        raise SystemExit("ftlab revise needs the progress file named above; fix or move it, or practise with "
                         "ftlab quiz --no-save.")
    with reviser.store:
        if not manage(args, reviser, write):
            if not args.summary:
                queue = reviser.queue(topic=args.topic)
                items = queue.items[: args.n]
                write(queue.header(len(items)))
                for item in queue.pulled:
                    write(f"  {item.id} is here because {queue.reasons[item.id]}.")
                if items:
                    items = shuffle_options(items, args.learner or default_learner(), utcnow().isoformat())
                    run(QuizSession(items, reviser, source="revise"), read, write)
                else:
                    write("Nothing is due right now. Come back later.")
            write("\n" + str(report(reviser)))


def manage(args: argparse.Namespace, reviser: Reviser, write: Callable[[str], None]) -> bool:
    """The one-shot actions (undo, suspend, bury, history, exports); True if one ran."""
    for name in ("suspend", "unsuspend", "bury", "history"):
        item_id = getattr(args, name)
        if item_id is not None and item_id not in reviser.bank:
            raise SystemExit(f"no bank item {item_id!r}; ids look like {reviser.bank.items[0].id!r} "
                             f"(see `ftlab revise --export-csv` or the bank files)")
    if args.undo:
        last = reviser.store.undo_last()
        write(f"Took back your answer to {last.item_id} ({last.answered_at:%Y-%m-%d %H:%M})." if last
              else "Nothing to undo.")
    elif args.suspend or args.unsuspend:
        reviser.store.set_flag(args.suspend or args.unsuspend, suspended=bool(args.suspend))
        write(f"{'Suspended' if args.suspend else 'Unsuspended'} {args.suspend or args.unsuspend}.")
    elif args.bury:
        reviser.store.set_flag(args.bury, buried_until=utcnow() + timedelta(days=1))
        write(f"Buried {args.bury} until tomorrow.")
    elif args.history:
        write(history(reviser, args.history))
    elif args.assigned:
        try:
            entries = read_review_list(args.assigned, reviser.bank)
        except ReviewListError as err:
            raise SystemExit(str(err)) from None
        for item_id, reason in entries.items():
            reviser.store.pull([item_id], f"your instructor assigned it: {reason}", utcnow())
        write(f"{len(entries)} item(s) your instructor assigned are due now: run `ftlab revise`.")
    elif args.export_csv:
        write(f"Wrote {export_csv(reviser, args.export_csv)} answer(s) to {args.export_csv}.")
    elif args.export_anki:
        from ftlab.assessment.selfquiz.anki import export_deck

        write(f"Wrote {export_deck(reviser.bank, args.export_anki)} notes to {args.export_anki} (import it in Anki).")
    else:
        return False
    return True


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of items, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _common_arguments(parser: argparse.ArgumentParser, default_n: int) -> None:
    """Flags both `ftlab quiz` and `ftlab revise` take; the description lists the bank's topics."""
    topics = load_bank().topics
    parser.description = f"{(parser.description or '').rstrip('.')}. Topics: {', '.join(topics)}."
    parser.add_argument("--topic", choices=topics, metavar="TOPIC", help=f"only this topic: {', '.join(topics)}")
    parser.add_argument("-n", type=positive_int, default=default_n, help="how many items at most (default %(default)s)")
    parser.add_argument("--learner", help="whose progress to use (default: $FTLAB_LEARNER or login name)")
    parser.add_argument("--no-save", action="store_true", help="do not record answers (quiz only)")


def quiz_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `ftlab quiz`."""
    _common_arguments(parser, default_n=10)
    parser.add_argument("--difficulty", choices=DIFFICULTIES)
    parser.add_argument("--seed", type=int, help="repeatable choice and order of items and options")


def revise_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `ftlab revise`."""
    _common_arguments(parser, default_n=20)
    parser.add_argument("--summary", action="store_true",
                        help="only print what is due, mastery, weak items, forecast and streak")
    parser.add_argument("--new-per-day", type=positive_int, help="new items a day (default 10)")
    parser.add_argument("--reviews-per-day", type=positive_int, help="reviews a day (default 100)")
    parser.add_argument("--undo", action="store_true", help="take back your latest answer")
    parser.add_argument("--suspend", metavar="ITEM", help="leave an item out until unsuspended")
    parser.add_argument("--unsuspend", metavar="ITEM", help="bring a suspended item back")
    parser.add_argument("--bury", metavar="ITEM", help="leave an item out until tomorrow")
    parser.add_argument("--history", metavar="ITEM", help="every answer you gave to one item")
    parser.add_argument("--assigned", metavar="FILE", type=Path,
                        help="make the items of a review list from your instructor due now")
    parser.add_argument("--export-csv", metavar="FILE", help="write your answers as CSV")
    parser.add_argument("--export-anki", metavar="FILE", help="write the bank as an Anki deck (.apkg)")
