"""`ftlab lessons DIR` copies the notebooks, unexecuted, from a built wheel's own data into a fresh venv's user."""
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import nbformat
import pytest

from ftlab.teaching.lesson_files import copy_lessons

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted(p.name for p in (ROOT / "lessons").glob("*.ipynb"))


def test_copy_keeps_existing_work_unless_forced(tmp_path):
    written = copy_lessons(tmp_path / "mine")
    assert sorted(p.name for p in written) == sorted([*LESSONS, "README.md"])
    (tmp_path / "mine" / LESSONS[0]).write_text("my notes")
    with pytest.raises(FileExistsError, match="--force"):
        copy_lessons(tmp_path / "mine")
    assert (tmp_path / "mine" / LESSONS[0]).read_text() == "my notes"  # nothing overwritten
    copy_lessons(tmp_path / "mine", force=True)
    assert (tmp_path / "mine" / LESSONS[0]).read_bytes() == (ROOT / "lessons" / LESSONS[0]).read_bytes()
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        copy_lessons(tmp_path / "file")


@pytest.mark.slow
def test_lessons_from_a_built_wheel_in_a_fresh_venv(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheels)], check=True, timeout=300, cwd=tmp_path)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # no checkout on the path: only the wheel
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    str(next(wheels.glob("*.whl")))], check=True, timeout=300, env=clean)
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True, env=clean).stdout.strip())
    (site / "zz-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")  # torch & co. from here, after the wheel
    out = subprocess.run([str(env_dir / "bin" / "ftlab"), "lessons", "course"], cwd=tmp_path, capture_output=True,
                         text=True, check=True, timeout=120, env=clean).stdout
    where = subprocess.run([str(python), "-c", "import ftlab.teaching.lesson_files as f; print(f.__file__, f.source_dir())"],
                           cwd=tmp_path, capture_output=True, text=True, check=True, env=clean).stdout
    assert str(env_dir) in where.split()[0] and str(env_dir) in where.split()[1]  # the wheel's copy, not the checkout
    assert "jupyter lab course" in out
    for name in LESSONS:
        nb = nbformat.read(tmp_path / "course" / name, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
        assert (tmp_path / "course" / name).read_bytes() == (ROOT / "lessons" / name).read_bytes()


@pytest.mark.slow  # two interpreter starts that import torch (until the CLI is lazy)
def test_the_command_says_how_to_open_them_and_refuses_to_overwrite(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.run([sys.executable, "-m", "ftlab.cli", "lessons", "here"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and "jupyter lab here" in first.stdout and LESSONS[0] in first.stdout
    again = subprocess.run([sys.executable, "-m", "ftlab.cli", "lessons", "here"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "--force" in again.stderr and "may hold your work" in again.stderr
