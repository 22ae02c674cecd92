"""The cell a submission's kernel runs in: bubblewrap namespaces and rlimits around the kernelspec's argv.

Inside, the kernel sees the system and the Python installation read-only, its own notebook folder
writable, a private /tmp, and nothing else: no course directory (source/, gradebook, other students),
no network, no instructor environment variables. Memory, CPU time and open files are capped by rlimits.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

# Read-only system directories, mirrored as symlinks where the host has symlinks (merged /usr).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")
# Variables the kernel keeps; everything else (tokens, the instructor's HOME, ...) is dropped.
KEEP_ENV = ("PATH", "PYTHONPATH", "LANG", "LANGUAGE", "TZ", "TERM", "PYTHONHASHSEED", "PYDEVD_DISABLE_FILE_VALIDATION")
KEEP_PREFIXES = ("LC_", "NBGRADER_", "OMP_", "MKL_", "OPENBLAS_")
# Sets the rlimits, then becomes the kernel: argv[1:4] are the limits, argv[4:] the kernel command.
_SETLIMITS = ("import os, resource as r, sys\n"
              "a, c, f = map(int, sys.argv[1:4])\n"
              "r.setrlimit(r.RLIMIT_AS, (a, a))\n"
              "r.setrlimit(r.RLIMIT_CPU, (c, c + 5))\n"
              "r.setrlimit(r.RLIMIT_NOFILE, (f, f))\n"
              "os.execv(sys.argv[4], sys.argv[4:])")


class SandboxUnavailable(RuntimeError):
    """Grading untrusted code was asked for without a sandbox to run it in."""


@dataclass(frozen=True)
class Limits:
    """Per-kernel rlimits: address space (MiB), CPU seconds, open files."""

    memory_mb: int = 8192
    cpu_seconds: int = 900
    open_files: int = 256

    def __post_init__(self):
        for name in ("memory_mb", "cpu_seconds", "open_files"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive number, got {getattr(self, name)}")

    def argv(self) -> list[str]:
        return [sys.executable, "-c", _SETLIMITS, str(self.memory_mb << 20), str(self.cpu_seconds), str(self.open_files)]


def bwrap() -> str | None:
    """Path of the bubblewrap binary, or None when it is not installed."""
    return shutil.which("bwrap")


def _torch_home() -> Path:
    return Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")).resolve()


def readable() -> list[Path]:
    """What the kernel needs to read besides the system: the interpreter, its packages, ftlab and torch's cache."""
    import ftlab

    paths = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, Path(sys.executable).parent)}
    paths.add(Path(ftlab.__file__).resolve().parent)  # only the package, never the checkout around it (quizzes/source)
    if _torch_home().is_dir():
        paths.add(_torch_home())
    return sorted(p for p in paths if p.exists() and not any(str(p).startswith(s + "/") for s in SYSTEM))


@dataclass(frozen=True)
class Jail:
    """How to wrap a kernel command: with bubblewrap (sandbox=True) or with the rlimits alone."""

    limits: Limits = Limits()
    sandbox: bool = True

    def wrap(self, argv: list[str], workdir: Path, runtime: Path, env: dict[str, str]) -> list[str]:
        """The command that runs `argv` in `workdir` inside the jail; `runtime` holds the kernel's sockets."""
        inner = self.limits.argv() + argv
        if not self.sandbox:
            return inner
        binary = bwrap()
        if binary is None:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed, so a submission's code would run with your rights: install it "
                "(apt-get install bubblewrap) or, only for submissions you trust, turn the sandbox off "
                "(ftlab course autograde --no-sandbox, or --BoundedExecute.sandbox=False)")
        cmd = [binary, "--die-with-parent", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
               "--cap-drop", "ALL", "--clearenv"]
        for path in SYSTEM:
            if os.path.islink(path):
                cmd += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                cmd += ["--ro-bind", path, path]
        cmd += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]  # before the binds: a venv may live in /tmp
        for path in readable():
            cmd += ["--ro-bind", str(path), str(path)]
        for path in (workdir.resolve(), runtime.resolve()):
            cmd += ["--bind", str(path), str(path)]
        kept = {k: v for k, v in env.items() if k in KEEP_ENV or k.startswith(KEEP_PREFIXES)}
        kept |= {"HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib"}
        if _torch_home().is_dir():
            kept["TORCH_HOME"] = str(_torch_home())  # downloaded weights stay readable although HOME moved
        for key, value in sorted(kept.items()):
            cmd += ["--setenv", key, value]
        return cmd + ["--chdir", str(workdir.resolve()), "--"] + inner


class JailedKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel inside `jail`, talking over Unix sockets in a private folder.

    TCP on localhost would not cross the jail's empty network namespace; Unix sockets in a bound folder do.
    """

    def __init__(self, *args, jail: Jail | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.jail = jail or Jail()
        self.runtime = Path(tempfile.mkdtemp(prefix="ftlab-kernel-"))
        self.transport = "ipc"
        self.ip = str(self.runtime / "ipc")
        self.connection_file = str(self.runtime / "kernel.json")

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        if self.jail.sandbox:
            # A SIGINT to the process group would reach bwrap first, and bwrap dies of it (taking the kernel
            # along); an interrupt_request on the control channel makes the kernel signal itself instead.
            self.kernel_spec.interrupt_mode = "message"
        argv = super().format_kernel_cmd(extra_arguments)
        workdir = Path(self._launch_args.get("cwd") or os.getcwd())
        env = {**os.environ, **(self._launch_args.get("env") or {})}
        return self.jail.wrap(argv, workdir, self.runtime, env)

    async def cleanup_resources(self, restart: bool = False) -> None:
        await super().cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.runtime, ignore_errors=True)
