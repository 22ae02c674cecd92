"""The console entry point."""
import shutil
import subprocess
import sys

import pytest


def _ftlab(*args):
    exe = shutil.which("ftlab") or pytest.skip("the ftlab entry point is not installed")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)


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
