"""The console entry point."""
import subprocess
import sys
from pathlib import Path


def _ftlab(*args):
    """Run the `ftlab` script that the install put beside this interpreter (the venv need not be activated)."""
    exe = Path(sys.executable).parent / "ftlab"
    assert exe.exists(), f"the install did not create the console script {exe}"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


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
