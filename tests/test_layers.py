"""The runtime never imports what builds on it: no module of the trainer's layer (or the offline default it
loads) imports teaching, assessment or tooling code, not even inside a function."""
import ast
from pathlib import Path

import pytest

import ftlab

PACKAGE = Path(ftlab.__file__).parent
RUNTIME = ("train", "rollback", "feature_cache", "checkpoint", "lr_find", "freezing", "models", "data", "preprocess",
           "device", "history", "inspector", "measure", "group_optimizer", "table", "glyphnet", "glyphs", "pretrain")
ABOVE = ("lessons", "lesson_files", "demo", "predict", "spread", "dashboard", "dashboard_svg", "exercises", "bank",
         "selfquiz", "course", "cli", "info", "bench")


def imported(path: Path) -> set[str]:
    """The ftlab modules a file imports, absolute or relative, at the top or in a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "ftlab" if node.level else ""
            module = ".".join(filter(None, [base, node.module or ""]))
            names |= {module} | {f"{module}.{a.name}" for a in node.names}
    return {n.split(".")[1] for n in names if n.startswith("ftlab.") and n.count(".") >= 1}


@pytest.mark.parametrize("name", RUNTIME)
def test_a_runtime_module_imports_nothing_that_builds_on_it(name):
    wrong = imported(PACKAGE / f"{name}.py") & set(ABOVE)
    assert not wrong, f"ftlab/{name}.py imports {', '.join(sorted(wrong))}, which build on the runtime"


def test_the_layers_name_every_module():
    modules = {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert modules - {"__init__", "__main__"} <= set(RUNTIME) | set(ABOVE), "a new module: put it in a layer here"
