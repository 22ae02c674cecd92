"""Answers read statically from an answer cell's source with `ast`: the grader never runs a student's cell to grade it."""
from __future__ import annotations

import ast


MAX_SOURCE = 100_000  # characters of an answer cell the grader parses: a few pages of text, far beyond any answer


class NoAnswer(ValueError):
    """The cell assigns no plain value to the answer's name; the message says what was expected. `flag`: the
    cell was too large or too deeply nested to read, so the notebook is flagged for the instructor."""

    def __init__(self, message: str, flag: bool = False):
        super().__init__(message)
        self.flag = flag


def _value(node: ast.expr) -> object:
    """A literal, or string literals joined with + (read without recursion, however long the chain);
    anything computed is refused."""
    parts: list[ast.expr] = []
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        parts.append(node.right)
        node = node.left
    if not parts:
        return ast.literal_eval(node)
    values = [ast.literal_eval(part) for part in [node, *reversed(parts)]]
    if not all(isinstance(value, str) for value in values):
        raise ValueError("only strings may be joined with +")
    return "".join(values)


def read_answer(source: str, name: str) -> object:
    """The value of the last top-level `name = <literal>` in the source; NoAnswer when there is none."""
    if len(source) > MAX_SOURCE:
        raise NoAnswer(f"the answer cell holds {len(source):,} characters; the grader reads at most "
                       f"{MAX_SOURCE:,}", flag=True)
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise NoAnswer(f"the answer cell is not valid Python (line {err.lineno}: {err.msg})") from None
    except (RecursionError, MemoryError, ValueError):
        raise NoAnswer("the answer cell is nested too deeply for the grader to read; write a plain value such "
                       "as q3 = \"B\"", flag=True) from None
    found: list[ast.expr] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in stmt.targets):
            found.append(stmt.value)
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == name \
                and stmt.value is not None:
            found.append(stmt.value)
    if not found:
        raise NoAnswer(f"the answer cell does not set `{name}`")
    try:
        return _value(found[-1])
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise NoAnswer(f"`{name}` must be set to a plain value written out in the cell (e.g. {name} = \"B\" or a "
                       f"string of text), not computed") from None
