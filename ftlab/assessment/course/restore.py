"""An nbgrader preprocessor that puts back every graded, answer or read-only cell a student deleted, and turns
cells with made-up nbgrader metadata back into plain cells.

nbgrader 0.9's own `OverwriteCells.add_missing_cells` re-adds only grade cells and raises KeyError
when the cell before a missing one is a deleted answer cell, which is exactly what an emptied
notebook looks like; then the student gets neither grade nor feedback. This preprocessor runs
before OverwriteCells and restores all nbgrader cells in the order of the source notebook, using
the released text stored in the gradebook, so the answers that are gone score zero and the rest
of the notebook still runs.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook, SourceCell
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from ftlab.assessment.course.notebook import metadata


def grade_id(cell: NotebookNode) -> str | None:
    """The nbgrader id of a cell, or None for plain cells."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


class RestoreMissingCells(NbGraderPreprocessor):
    """Re-insert deleted nbgrader cells after their predecessor in source order."""

    def source_order(self, assignment: str, notebook: str) -> list[str]:
        """The grade ids of the instructor's source notebook, top to bottom."""
        coursedir = CourseDirectory(parent=self)
        path = Path(coursedir.format_path(coursedir.source_directory, ".", assignment)) / f"{notebook}.ipynb"
        return [gid for gid in map(grade_id, nbformat.read(path, as_version=4).cells) if gid]

    def rebuild(self, stored: SourceCell, points: float | None, solution: bool, with_id: bool) -> NotebookNode:
        """A released cell rebuilt from the gradebook, with the checksum OverwriteCells will verify."""
        meta = metadata(stored.name, grade=points is not None, solution=solution, locked=stored.locked,
                                 points=points, checksum=stored.checksum)
        if stored.cell_type == "code":
            cell = nbformat.v4.new_code_cell(stored.source, metadata=meta)
        else:
            cell = nbformat.v4.new_markdown_cell(stored.source, metadata=meta)
        if with_id:
            cell.id = f"restored-{stored.name}"[:64]
        else:
            cell.pop("id", None)
        return cell

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        info = resources["nbgrader"]
        order = self.source_order(info["assignment"], info["notebook"])
        with Gradebook(info["db_url"]) as gb:
            source = gb.find_notebook(info["notebook"], info["assignment"])
            stored = {cell.name: cell for cell in source.source_cells}
            points = {cell.name: cell.max_score for cell in source.grade_cells}
            solutions = {cell.name for cell in source.solution_cells}
            with_id = (nb.nbformat, nb.nbformat_minor) >= (4, 5)
            for cell in nb.cells:
                if "nbgrader" in cell.metadata and grade_id(cell) not in stored:
                    self.log.warning("Cell %s is not in the released notebook; treating it as a plain cell",
                                     grade_id(cell))
                    del cell.metadata["nbgrader"]  # a made-up grade cell would otherwise fail the whole notebook
            anchor = -1
            for gid in order:
                ids = [grade_id(cell) for cell in nb.cells]
                if gid in ids:
                    anchor = ids.index(gid)
                    continue
                if gid not in stored:
                    continue
                self.log.warning("Cell %s was deleted by the student; restoring the released version", gid)
                anchor += 1
                nb.cells.insert(anchor, self.rebuild(stored[gid], points.get(gid), gid in solutions, with_id))
        return nb, resources
