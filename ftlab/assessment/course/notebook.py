"""nbgrader cells and a deterministic notebook writer, so regenerated notebooks are byte-identical."""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SCHEMA_VERSION = 3  # nbgrader's cell-metadata schema in 0.9
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def metadata(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None,
                      checksum: str | None = None) -> dict:
    """A cell's `metadata` holding nbgrader's entry: points only on graded cells, a checksum on restored ones."""
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id,
            "schema_version": SCHEMA_VERSION}
    if points is not None:
        meta["points"] = points
    if checksum is not None:
        meta["checksum"] = checksum
    return {"nbgrader": meta}


def markdown(cell_id: str, text: str) -> nbformat.NotebookNode:
    """A plain text cell the student may edit freely: prompts and instructions."""
    cell = new_markdown_cell(text.strip())
    cell.id = cell_id
    return cell


def setup(grade_id: str, code: str) -> nbformat.NotebookNode:
    """A read-only code cell that builds the objects an exercise works on; nbgrader restores it if edited."""
    cell = new_code_cell(code.strip(), metadata=metadata(grade_id, grade=False, solution=False, locked=True))
    cell.id = grade_id
    return cell


def split_solution(source: str) -> tuple[str, str, str]:
    """A cell's source as (before, solution, after) around the BEGIN/END delimiters."""
    head, rest = source.split(BEGIN, 1)
    body, tail = rest.split(END, 1)
    return head, body, tail


def answer(grade_id: str, solution: str) -> nbformat.NotebookNode:
    """An autograded answer cell: `solution` sits between the delimiters that generate_assignment strips."""
    source = "\n".join([BEGIN, solution.strip(), END])
    cell = new_code_cell(source, metadata=metadata(grade_id, grade=False, solution=True, locked=False))
    cell.id = grade_id
    return cell


def answer_markdown(grade_id: str, solution: str, points: float) -> nbformat.NotebookNode:
    """A written answer graded by hand in formgrader; generate_assignment replaces all of it with a stub."""
    cell = new_markdown_cell(solution.strip(), metadata=metadata(grade_id, grade=True, solution=True, locked=False,
                                                                  points=points))
    cell.id = grade_id
    return cell


def test(grade_id: str, code: str, points: float) -> nbformat.NotebookNode:
    """A locked autograder test cell; its last expression is the score nbgrader records (partial credit)."""
    cell = new_code_cell(code.strip(), metadata=metadata(grade_id, grade=True, solution=False, locked=True,
                                                          points=points))
    cell.id = grade_id
    return cell


def notebook(cells: list[nbformat.NotebookNode]) -> nbformat.NotebookNode:
    """A Python 3 notebook (format 4.5, with cell ids) holding the cells; no outputs, no execution counts."""
    nb = new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}})
    nb.nbformat, nb.nbformat_minor = 4, 5
    nbformat.validate(nb)
    return nb


def dumps(nb: nbformat.NotebookNode) -> str:
    """The notebook as JSON text, stable across runs (sorted keys, one-space indent, final newline)."""
    return nbformat.writes(nb).rstrip("\n") + "\n"


def write(nb: nbformat.NotebookNode, path: Path) -> bool:
    """Write the notebook if its text changed; True when the file was created or rewritten."""
    text = dumps(nb)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True
