"""quizzes/README.md's workflow, run as written on a course folder made by `ftlab course init`: release through
the course's own exchange, a student fetches and submits, then collect, autograde, feedback and export."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ftlab.assessment.course.sandbox import solutions

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

QUIZZES = Path(__file__).resolve().parents[3] / "quizzes"
README = (QUIZZES / "README.md").read_text()


def _blocks() -> list[list[str]]:
    """Each ```bash block of the README as its command lines, comments removed."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
        out.append([line for line in lines if line])
    return out


def _sh(command: str, cwd: Path) -> str:
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    done = subprocess.run(command, shell=True, cwd=cwd, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-4000:])
    return done.stdout + done.stderr


def test_readme_workflow_runs_as_written(tmp_path):
    make, workflow = _blocks()
    course, student = tmp_path / "ftlab-course", tmp_path / "student"
    student.mkdir()
    for line in make:
        line = line.replace("~/ftlab-course", str(course)).replace("path/to/quizzes", str(QUIZZES))
        if not line.startswith("cd "):
            _sh(line, tmp_path)
    exchange = f"--course=ftlab-finetuning --Exchange.root={shlex.quote(str(course / 'exchange'))}"
    keys = solutions(course / "source" / "concepts" / "concepts.ipynb")
    for line in workflow:
        if line.startswith("jupyter lab"):  # a server: check that it serves /formgrader instead of starting it
            listed = re.sub(r"\x1b\[[0-9;]*m", "", _sh("jupyter server extension list", course))
            assert re.search(r"nbgrader\.server_extensions\.formgrader\s+enabled", listed)
            continue
        _sh(line, course)
        if line.startswith("nbgrader release_assignment"):
            _sh(f"nbgrader fetch_assignment concepts {exchange}", student)
            path = student / "concepts" / "concepts.ipynb"
            work = nbformat.read(path, as_version=4)
            for cell in work.cells:
                gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                cell.source = keys.get(gid, cell.source)
            nbformat.write(work, path)
            _sh(f"nbgrader submit concepts {exchange}", student)
    _sh(f"nbgrader fetch_feedback concepts {exchange}", student)
    pages = list((student / "concepts" / "feedback").rglob("concepts.html"))
    assert pages and "Score: 1 of 1." in pages[0].read_text()
    rows = (course / "grades.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[0].startswith("assignment,")
