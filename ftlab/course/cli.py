"""`ftlab course ACTION`: the instructor's commands, each declared by its own module and imported when chosen."""
from __future__ import annotations

import argparse
import importlib

ACTIONS = {  # action: (help, module with add_arguments(parser) and run(args) -> exit status)
    "init": ("create a complete nbgrader course folder", "ftlab.course.init"),
    "build": ("write the course's source/ notebooks from its private bank (--check: only compare)", "ftlab.course.build"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One sub-parser per action, with that action's own flags."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="action")
    for name, (text, module) in ACTIONS.items():
        importlib.import_module(module).add_arguments(actions.add_parser(name, help=text, description=text))


def run(args: argparse.Namespace) -> int:
    """Run the chosen action; its exit status."""
    return importlib.import_module(ACTIONS[args.action][1]).run(args)
