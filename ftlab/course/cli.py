"""`ftlab course ACTION`: the instructor's commands, each declared by its own module and imported when chosen."""
from __future__ import annotations

import argparse

from ftlab.cli import load

ACTIONS = {  # action: (help, "module:function" declaring its flags, "module:function" running it)
    "init": ("create a complete nbgrader course folder", "ftlab.course.init:add_arguments", "ftlab.course.init:run"),
    "build": ("write the course's source/ notebooks from its private bank (--check: only compare)",
              "ftlab.course.build:add_arguments", "ftlab.course.build:run"),
    "autograde": ("autograde a whole class: parallel, sandboxed, shardable",
                  "ftlab.course.autograde:add_arguments", "ftlab.course.autograde:run"),
    "merge": ("import `course autograde --shard` result files into the gradebook",
              "ftlab.course.autograde:merge_arguments", "ftlab.course.autograde:run_merge"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One sub-parser per action, with that action's own flags."""
    actions = parser.add_subparsers(dest="action", required=True, metavar="action")
    for name, (text, arguments, _) in ACTIONS.items():
        load(arguments)(actions.add_parser(name, help=text, description=text))


def run(args: argparse.Namespace) -> int | None:
    """Run the chosen action; its exit status."""
    return load(ACTIONS[args.action][2])(args)
