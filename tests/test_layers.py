"""The layout is the architecture: import-linter holds the layers and forbids loops; the README's table names every folder."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def lint(root: Path) -> subprocess.CompletedProcess:
    """Run import-linter with the contracts in pyproject.toml on the ftlab package found under `root`."""
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache", "--config", str(REPO / "pyproject.toml")],
                          cwd=root, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=120)


def test_every_layer_builds_only_on_the_layers_below_it_and_no_folder_has_an_import_loop():
    result = lint(REPO)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "kept, 0 broken" in result.stdout


def test_the_contracts_catch_an_upward_import_even_inside_a_function(tmp_path):
    shutil.copytree(REPO / "ftlab", tmp_path / "ftlab", ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    history = tmp_path / "ftlab" / "runtime" / "history.py"
    history.write_text(history.read_text() + "\n\ndef _sneak():\n    from ftlab.teaching import lessons\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "ftlab.runtime.history -> ftlab.teaching.lessons" in result.stdout


def test_the_offline_default_sits_wholly_below_the_runtime(tmp_path):
    shutil.copytree(REPO / "ftlab", tmp_path / "ftlab", ignore=shutil.ignore_patterns("__pycache__", "*.pt"))
    glyphs = tmp_path / "ftlab" / "offline" / "glyphs.py"
    glyphs.write_text(glyphs.read_text() + "\n\ndef _sneak():\n    from ftlab.runtime import measure\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "ftlab.offline.glyphs -> ftlab.runtime.measure" in result.stdout


def test_the_readme_layout_table_names_exactly_the_folders_and_modules_at_the_package_root():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"^\| `ftlab/([\w./]+)` \|", readme, flags=re.M))
    present = {p.name + "/" for p in (REPO / "ftlab").iterdir() if (p / "__init__.py").exists()}
    present |= {p.name for p in (REPO / "ftlab").glob("*.py") if p.name != "__init__.py"}
    assert named == present
