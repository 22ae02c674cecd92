"""The console entry point."""
import subprocess
import sys
from pathlib import Path


REPO = Path(__file__).resolve().parents[1]


def _ftlab(*args, cwd=None):
    """Run the `ftlab` script that the install put beside this interpreter (the venv need not be activated)."""
    exe = Path(sys.executable).parent / "ftlab"
    assert exe.exists(), f"the install did not create the console script {exe}"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_help_lists_the_commands():
    out = _ftlab("--help")
    assert out.returncode == 0
    for command in ("info", "demo", "pretrain"):
        assert command in out.stdout


def test_info_prints_versions_device_and_caches():
    out = _ftlab("info")
    assert out.returncode == 0, out.stderr
    import torch
    assert f"torch        {torch.__version__}" in out.stdout
    assert "device       cpu" in out.stdout or "device       cuda" in out.stdout
    assert "hub cache" in out.stdout and "glyphnet" in out.stdout


def test_unknown_command_fails_with_usage():
    out = _ftlab("train-everything")
    assert out.returncode == 2 and "invalid choice" in out.stderr


def test_every_command_parses_its_own_flags():
    for args, flags in ((["pretrain", "--help"], ("--quick", "--epochs")), (["demo", "--help"], ("--quick", "--plot")),
                        (["quiz", "--help"], ("--topic", "--difficulty")), (["revise", "--help"], ("--summary",)),
                        (["course", "build", "--help"], ("--check",))):
        out = _ftlab(*args)
        assert out.returncode == 0, out.stderr
        assert all(flag in out.stdout for flag in flags), (args, out.stdout)
    out = _ftlab("pretrain", "--epochs", "two")
    assert out.returncode == 2 and "invalid int value" in out.stderr


def test_course_build_finds_the_course_from_the_repo_or_inside_it(tmp_path):
    for where in (REPO, REPO / "quizzes"):
        out = _ftlab("course", "build", "--check", cwd=where)
        assert out.returncode == 0, (where, out.stdout, out.stderr)
    out = _ftlab("course", "build", cwd=tmp_path)
    assert out.returncode == 2 and "no nbgrader_config.py" in out.stdout and not any(tmp_path.iterdir())
