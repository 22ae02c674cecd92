"""The `ftlab` command. Only the chosen subcommand's module is imported, so `ftlab --help` answers at once."""
from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field
from pkgutil import resolve_name


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, what runs it and where its flags are declared ("module:function"), or the
    actions it groups (`ftlab course build`)."""

    help: str
    run: str | None = None
    arguments: str | None = None
    actions: dict[str, Command] = field(default_factory=dict)


COURSE = {
    "init": Command("create a complete nbgrader course folder", "ftlab.assessment.course.init:run",
                    "ftlab.assessment.course.init:add_arguments"),
    "build": Command("write the course's source/ notebooks from its private bank (--check: only compare)",
                     "ftlab.assessment.course.build:run", "ftlab.assessment.course.build:add_arguments"),
    "autograde": Command("autograde a whole class: parallel, sandboxed, shardable",
                         "ftlab.assessment.course.autograde:run",
                         "ftlab.assessment.course.autograde:add_arguments"),
    "report": Command("what the class got wrong: per question, option, concept and check; what to reteach",
                      "ftlab.assessment.course.report_view:run", "ftlab.assessment.course.report_view:add_arguments"),
    "merge": Command("import `course autograde --shard` result files into the gradebook",
                     "ftlab.assessment.course.autograde:run_merge",
                     "ftlab.assessment.course.autograde:merge_arguments"),
    "variants": Command("which variant of an assignment each student has, and how many variants it has",
                        "ftlab.assessment.course.variants:run", "ftlab.assessment.course.variants:add_arguments"),
}


BANK = {
    "try": Command("score one free-text answer to a bank item, showing each concept's decision and its evidence",
                   "ftlab.assessment.bank.trial:run", "ftlab.assessment.bank.trial:add_arguments"),
}


COMMANDS = {
    "info": Command("versions, device found and cache locations", "ftlab.info:run"),
    "demo": Command("compare scratch, head-only, fine-tuning and the recipe (offline, CPU, < 2 min)",
                    "ftlab.teaching.demo:command", "ftlab.teaching.demo:add_arguments"),
    "lessons": Command("copy the lesson notebooks into a folder (default ./ftlab-lessons)",
                       "ftlab.teaching.lesson_files:run", "ftlab.teaching.lesson_files:add_arguments"),
    "pretrain": Command("re-run the recipe that produced the shipped GlyphNet weights",
                        "ftlab.pretrain:run", "ftlab.pretrain:add_arguments"),
    "quiz": Command("practice questions with instant feedback", "ftlab.assessment.selfquiz.terminal:quiz_command",
                    "ftlab.assessment.selfquiz.terminal:quiz_arguments"),
    "revise": Command("spaced-repetition revision of what is due", "ftlab.assessment.selfquiz.terminal:revise_command",
                      "ftlab.assessment.selfquiz.terminal:revise_arguments"),
    "course": Command("the nbgrader course: init, build, autograde, merge, report, variants", actions=COURSE),
    "bank": Command("the question bank: try an item's free-text scoring", actions=BANK),
}


def parser_for(chosen: str | None) -> argparse.ArgumentParser:
    """Every subcommand is listed; only the chosen one declares its flags (importing its module)."""
    parser = argparse.ArgumentParser(prog="ftlab", description="Learn, teach and revise fine-tuning of vision models.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, command in COMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.help)
        if name == chosen:
            declare(child, command)
            parser.set_defaults(chosen_parser=child)
    return parser


def declare(parser: argparse.ArgumentParser, command: Command) -> None:
    """Declare a command's flags, or one sub-parser per action with that action's flags."""
    if command.arguments:
        resolve_name(command.arguments)(parser)
    if command.actions:
        actions = parser.add_subparsers(dest="action", required=True, metavar="action")
        for name, action in command.actions.items():
            declare(actions.add_parser(name, help=action.help, description=action.help), action)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    parser = parser_for(chosen)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # a misspelt flag: the subcommand's usage, which lists its flags, not the top-level one
        getattr(args, "chosen_parser", parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    command = COMMANDS[args.command]
    try:
        status = resolve_name((command.actions[args.action] if command.actions else command).run)(args)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`ftlab revise --summary | head -2`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)
    if status:
        sys.exit(status)


if __name__ == "__main__":
    main()
