"""nbgrader preprocessors that restore what a student changed in the instructor's cells before grading.

`RestoreCellMetadata` puts back the released nbgrader metadata of every cell and flags each change, so a tampered
notebook is graded instead of refused. `RestoreMissingCells` puts back deleted graded, answer and read-only cells:
nbgrader 0.9's own `OverwriteCells.add_missing_cells` re-adds only grade cells and raises KeyError when the cell
before a missing one is a deleted answer cell, which is exactly what an emptied notebook looks like; then the
student gets neither grade nor feedback. It runs before OverwriteCells and restores all nbgrader cells in the order
of the source notebook, using the released text stored in the gradebook, so the answers that are gone score zero
and the rest of the notebook still runs.
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook, SourceCell
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from ftlab.assessment.course.intake import recorded_flags
from ftlab.assessment.course.notebook import metadata


def grade_id(cell: NotebookNode) -> str | None:
    """The nbgrader id of a cell, or None for plain cells (and for metadata that is not nbgrader's shape)."""
    meta = cell.get("metadata", {}).get("nbgrader")
    gid = meta.get("grade_id") if isinstance(meta, dict) else None
    return gid if isinstance(gid, str) else None


FLAGGED = ("grade", "solution", "locked", "points")  # the cell metadata that decides how a cell is graded


def flag_place(flag: dict) -> str:
    """Where a grading flag points: the cell's grade id, its position, or the notebook as a whole."""
    return flag.get("grade_id") or (f"cell {flag['cell']}" if flag.get("cell") is not None else "the notebook")


def course_root(preprocessor: NbGraderPreprocessor) -> Path:
    """The course folder nbgrader runs in (its CourseDirectory.root), resolved."""
    return Path(CourseDirectory(parent=preprocessor).root).resolve()


def flag_in_gradebook(ids: dict) -> None:
    """Mark the submission's notebook as flagged: formgrader shows the mark on its row."""
    with Gradebook(ids["db_url"]) as gb:
        gb.find_submission_notebook(ids["notebook"], ids["assignment"], ids["student"]).flagged = True
        gb.db.commit()


def sanitize_flags(nb: NotebookNode) -> list[dict]:
    """The flags in the notebook's metadata: those RestoreCellMetadata found (it replaces the submission's own)."""
    ftlab = nb.metadata.get("ftlab")
    flags = ftlab.get("flags") if isinstance(ftlab, dict) else None
    return [flag for flag in flags if isinstance(flag, dict)] if isinstance(flags, list) else []


class RestoreCellMetadata(NbGraderPreprocessor):
    """Put back the instructor's nbgrader metadata on every cell and flag each change, so tampering (a test no
    longer graded, an answer or a read-only cell made graded, a made-up or missing grade id) is graded as
    released instead of failing the notebook.

    nbgrader's OverwriteCells restores a locked cell's source but not its grade and solution flags, which are part
    of the checksum, and then refuses the notebook ("Inconsistent checksums"); an unlocked cell made graded, or a
    graded one without an id, fails it too. Runs before nbgrader's own sanitize steps. The flags go to the notebook's
    metadata ("ftlab"), where BoundedExecute and the autograde summary read them, and to the gradebook.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        info = resources["nbgrader"]
        flags = recorded_flags(course_root(self), info["student"], info["assignment"])  # plain nbgrader's intake
        seen = set()

        def flag(index: int, gid: str | None, reason: str, detail: str) -> None:
            flags.append({"cell": index, "grade_id": gid, "reason": reason, "detail": detail})
            self.log.warning("Cell %s (%s): %s", index, gid, detail)

        with Gradebook(info["db_url"]) as gb:
            source = gb.find_notebook(info["notebook"], info["assignment"])
            stored = {cell.name: cell for cell in source.source_cells}
            points = {cell.name: cell.max_score for cell in source.grade_cells}
            solutions = {cell.name for cell in source.solution_cells}
        for index, cell in enumerate(nb.cells):
            if "nbgrader" not in cell.metadata:
                continue
            gid, given = grade_id(cell), cell.metadata["nbgrader"]
            if gid not in stored:
                del cell.metadata["nbgrader"]  # graded as a plain cell; a deleted original is put back later
                flag(index, None, "ForgedCell", "nbgrader metadata without a released grade id; made a plain cell")
                continue
            if gid in seen:
                flag(index, gid, "DuplicateCell", "a second cell with this grade id; nbgrader keeps the last one")
            seen.add(gid)
            released = metadata(gid, grade=gid in points, solution=gid in solutions, locked=stored[gid].locked,
                                points=points.get(gid), checksum=stored[gid].checksum)["nbgrader"]
            changed = [key for key in FLAGGED if given.get(key) != released.get(key)]
            if changed:
                was = ", ".join(f"{key}={str(given.get(key))[:20]}" for key in changed)
                flag(index, gid, "TamperedCell", f"nbgrader metadata changed ({was}); restored as released")
            cell.metadata["nbgrader"] = released
        nb.metadata["ftlab"] = {"flags": flags}  # replaces anything the submission wrote there
        if flags:
            flag_in_gradebook(info)
        return nb, resources


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
            anchor, restored = -1, []
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
                restored.append(gid)
        if restored:
            flags = sanitize_flags(nb)
            flags.append({"cell": None, "grade_id": None, "reason": "RestoredCells",
                          "detail": f"{len(restored)} deleted cells put back as released: {', '.join(restored)}"})
            nb.metadata["ftlab"] = {"flags": flags}
            flag_in_gradebook(info)
        return nb, resources
