"""The `ftlab` command. Only the chosen subcommand's module is imported, so `ftlab --help` answers at once."""
from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """One subcommand: its help line, what runs it and where its flags are declared ("module:function")."""

    help: str
    run: str
    arguments: str | None = None


COMMANDS = {
    "info": Command("versions, device found and cache locations", "ftlab.info:run"),
    "demo": Command("compare scratch, head-only, fine-tuning and the recipe (offline, CPU, < 2 min)",
                    "ftlab.demo:command", "ftlab.demo:add_arguments"),
    "lessons": Command("copy the lesson notebooks into a folder (default ./ftlab-lessons)",
                       "ftlab.lesson_files:run", "ftlab.lesson_files:add_arguments"),
    "pretrain": Command("re-run the recipe that produced the shipped GlyphNet weights",
                        "ftlab.pretrain:run", "ftlab.pretrain:add_arguments"),
    "quiz": Command("practice questions with instant feedback", "ftlab.selfquiz.terminal:quiz_command",
                    "ftlab.selfquiz.terminal:quiz_arguments"),
    "revise": Command("spaced-repetition revision of what is due", "ftlab.selfquiz.terminal:revise_command",
                      "ftlab.selfquiz.terminal:revise_arguments"),
    "course": Command("the nbgrader course: init, build, autograde, merge", "ftlab.course.cli:run",
                      "ftlab.course.cli:add_arguments"),
}


def load(path: str):
    """The function named by "module:function", importing its module now."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def parser_for(chosen: str | None) -> argparse.ArgumentParser:
    """Every subcommand is listed; only the chosen one declares its flags (importing its module)."""
    parser = argparse.ArgumentParser(prog="ftlab", description="Learn, teach and revise fine-tuning of vision models.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="command")
    for name, command in COMMANDS.items():
        child = sub.add_parser(name, help=command.help, description=command.help)
        if name == chosen and command.arguments:
            load(command.arguments)(child)
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    args = parser_for(chosen).parse_args(argv)
    status = load(COMMANDS[args.command].run)(args)
    if status:
        sys.exit(status)


if __name__ == "__main__":
    main()
