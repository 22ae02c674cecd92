"""Answers read statically from an answer cell's source with `ast`: the grader never runs a student's cell to grade it."""
from __future__ import annotations

import ast


class NoAnswer(ValueError):
    """The cell assigns no plain value to the answer's name; the message says what was expected."""


def _value(node: ast.expr) -> object:
    """A literal, or string literals joined with +; anything computed is refused."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _value(node.left), _value(node.right)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        raise ValueError("only strings may be joined with +")
    return ast.literal_eval(node)


def read_answer(source: str, name: str) -> object:
    """The value of the last top-level `name = <literal>` in the source; NoAnswer when there is none."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise NoAnswer(f"the answer cell is not valid Python (line {err.lineno}: {err.msg})") from None
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
