"""The cell a submission's kernel runs in: bubblewrap namespaces, rlimits and an unprivileged uid, around a zygote.

Inside, a kernel sees the system and the Python installation read-only, its own notebook folder writable, a
private size-capped /tmp, and nothing else: no course directory (source/, gradebook, other students), no
network, no instructor environment variables. The jail holds one pre-warmed zygote (zygote.py) that forks
each kernel; a kernel gets rlimits on memory, CPU time, open files, file size and, as the unprivileged uid
a uid of its own when grading runs as root, on processes. Between kernels the zygote kills every other process in the
jail and empties /tmp. `ZygoteProvisioner` is how jupyter_client launches, signals and kills such a kernel.
"""
from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner

from ftlab.assessment.course.zygote import Zygote, ZygoteDied

# Read-only system directories, mirrored as symlinks where the host has symlinks (merged /usr).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")
# Variables the kernel keeps; everything else (tokens, the instructor's HOME, ...) is dropped.
KEEP_ENV = ("PATH", "PYTHONPATH", "LANG", "LANGUAGE", "TZ", "TERM", "PYTHONHASHSEED", "PYDEVD_DISABLE_FILE_VALIDATION")
KEEP_PREFIXES = ("LC_", "NBGRADER_", "OMP_", "MKL_", "OPENBLAS_", "JPY_")
FIRST_UID = 2_000_000  # kernel uids are this plus the grading process's pid: above any real account
# What the zygote keeps of root's powers, to drop a kernel to its own uid and to clear the jail after it.
ZYGOTE_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_FOWNER")


class SandboxUnavailable(RuntimeError):
    """Grading untrusted code was asked for without a sandbox to run it in."""


@dataclass(frozen=True)
class Limits:
    """Per-kernel limits: address space (MiB), CPU seconds, open files, processes (threads count), size of one
    written file (MiB) and of the private /tmp (MiB)."""

    memory_mb: int = 8192
    cpu_seconds: int = 900
    open_files: int = 256
    processes: int = 128
    file_mb: int = 512
    tmp_mb: int = 512

    def __post_init__(self):
        for name in ("memory_mb", "cpu_seconds", "open_files", "processes", "file_mb", "tmp_mb"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive number, got {getattr(self, name)}")

    def rlimits(self, processes: bool) -> dict[str, int]:
        """The kernel's rlimits by resource name; RLIMIT_NPROC only when the kernel has a uid of its own (it
        counts every process of the uid)."""
        limits = {"RLIMIT_AS": self.memory_mb << 20, "RLIMIT_CPU": self.cpu_seconds,
                  "RLIMIT_NOFILE": self.open_files, "RLIMIT_FSIZE": self.file_mb << 20}
        return limits | ({"RLIMIT_NPROC": self.processes} if processes else {})


def bwrap() -> str | None:
    """Path of the bubblewrap binary, or None when it is not installed."""
    return shutil.which("bwrap")


@functools.cache
def _options(binary: str) -> str:
    """bubblewrap's --help text: which options this version knows."""
    return subprocess.run([binary, "--help"], capture_output=True, text=True).stdout


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


def kernel_uid(sandbox: bool) -> int | None:
    """The uid a kernel drops to when a sandboxed grader runs as root, else None (keep the grader's): one per
    grading process and used by nothing else, so RLIMIT_NPROC counts this kernel's processes alone."""
    return FIRST_UID + os.getpid() if sandbox and os.geteuid() == 0 else None


@dataclass(frozen=True)
class Jail:
    """How to run the zygote: under bubblewrap (sandbox=True) or as a plain process, and the kernels' limits."""

    limits: Limits = Limits()
    sandbox: bool = True

    def wrap(self, argv: list[str], binds: list[Path], env: dict[str, str]) -> list[str]:
        """The command that runs `argv` inside the jail, with `binds` (folders) writable at their own paths."""
        if not self.sandbox:
            return argv
        binary = bwrap()
        if binary is None:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed, so a submission's code would run with your rights: install it "
                "(apt-get install bubblewrap) or, only for submissions you trust, turn the sandbox off "
                "(ftlab course autograde --no-sandbox, or --BoundedExecute.sandbox=False)")
        cmd = [binary, "--die-with-parent", "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
               "--cap-drop", "ALL"]
        if os.geteuid() == 0:
            for cap in ZYGOTE_CAPS:
                cmd += ["--cap-add", cap]
        cmd += ["--clearenv"]
        for path in SYSTEM:
            if os.path.islink(path):
                cmd += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                cmd += ["--ro-bind", path, path]
        # /tmp before the binds: a venv or a workspace may live in /tmp
        size = ["--size", str(self.limits.tmp_mb << 20)] if "--size" in _options(binary) else []  # 0.8 has it
        cmd += ["--dev", "/dev", "--proc", "/proc", "--perms", "1777", *size, "--tmpfs", "/tmp"]
        mounts = [("--ro-bind", path) for path in readable()] + [("--bind", path.resolve()) for path in binds]
        targets = {path for _, path in mounts}
        parents = {parent for _, path in mounts for parent in path.parents} - targets - {Path("/"), Path("/tmp")}
        for parent in sorted(parents, key=lambda p: len(p.parts)):  # bwrap makes them 0700: closed to the kernel's uid
            cmd += ["--perms", "0755", "--dir", str(parent)]
        for option, path in mounts:
            cmd += [option, str(path), str(path)]
        for key, value in sorted(kernel_env(env, sandbox=True).items()):
            cmd += ["--setenv", key, value]
        return cmd + ["--chdir", "/tmp", "--"] + argv


def kernel_env(env: dict[str, str], sandbox: bool) -> dict[str, str]:
    """The environment a kernel gets: in the sandbox only KEEP_ENV and a HOME in the private /tmp."""
    if not sandbox:
        return dict(env)
    kept = {k: v for k, v in env.items() if k in KEEP_ENV or k.startswith(KEEP_PREFIXES)}
    kept |= {"HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "USER": "student", "LOGNAME": "student"}
    if _torch_home().is_dir():
        kept["TORCH_HOME"] = str(_torch_home())  # downloaded weights stay readable although HOME moved
    return kept


# ---- one zygote per process, reused while the workspace and the jail stay the same ---------------------------

_workspace: Path | None = None
_runtime: dict[int, Path] = {}  # by pid: a forked worker makes its own
_zygote: dict[int, tuple[tuple, Zygote]] = {}


def use_workspace(path: Path) -> None:
    """Kernels whose folder lies under `path` share one zygote (a worker grading submission after submission);
    elsewhere each new folder gets a zygote of its own. Kernel sockets go under `path` too."""
    global _workspace
    _workspace = path.resolve()
    _workspace.chmod(0o711)  # the kernel's uid passes through to its own folder, and lists nothing
    _runtime[os.getpid()] = Path(tempfile.mkdtemp(prefix="kernels-", dir=_workspace.parent))
    _runtime[os.getpid()].chmod(0o711)


def workspace() -> Path | None:
    """The folder set by use_workspace, if any."""
    return _workspace


def runtime_base() -> Path:
    """This process's folder of kernel sockets and connection files, bound into the jail."""
    if os.getpid() not in _runtime:
        _runtime[os.getpid()] = Path(tempfile.mkdtemp(prefix="ftlab-kernels-"))
        _runtime[os.getpid()].chmod(0o711)
        atexit.register(shutil.rmtree, _runtime[os.getpid()], True)
    return _runtime[os.getpid()]


def zygote(jail: Jail, cwd: Path) -> Zygote:
    """The live zygote whose jail sees `cwd`, started (or restarted after a crash) when needed."""
    root = _workspace if _workspace and cwd.is_relative_to(_workspace) else cwd
    key = (jail, root)
    held = _zygote.get(os.getpid())
    if held and held[0] == key and held[1].alive():
        return held[1]
    if held:
        held[1].close()
    base = runtime_base()
    argv = [sys.executable, "-m", Zygote.__module__, *(["--jailed"] if jail.sandbox else [])]
    made = Zygote(jail.wrap(argv, [root, base], dict(os.environ)), log=str(base / "zygote.log"))
    if not held:
        atexit.register(_close)
    _zygote[os.getpid()] = (key, made)
    return made


def _close() -> None:
    held = _zygote.pop(os.getpid(), None)
    if held:
        held[1].close()


class ForkedKernel:
    """The Popen-like handle LocalProvisioner drives: a kernel forked by the zygote, known by its pid in the jail."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, pid: int):
        self.zygote, self.pid, self.returncode = zygote, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = self.zygote.request(op="poll", pid=self.pid)["status"]
            except ZygoteDied:
                self.returncode = -9
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        import time

        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None and (end is None or time.monotonic() < end):
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Signal the kernel's session (the kernel and what it started)."""
        if self.returncode is None:
            try:
                self.zygote.request(op="signal", pid=self.pid, signal=int(signum))
            except ZygoteDied:
                self.returncode = -9

    def kill(self) -> None:
        self.send_signal(9)

    def terminate(self) -> None:
        self.send_signal(15)


class ZygoteProvisioner(LocalProvisioner):
    """Launch the kernel as a fork of the jail's zygote instead of a new interpreter; kill it and clear the jail
    after it. Signals (interrupts included) go to the kernel's own session through the zygote."""

    async def launch_kernel(self, cmd: list[str], **kwargs) -> dict:
        km = self.parent
        cwd = Path(kwargs.get("cwd") or os.getcwd()).resolve()
        uid = kernel_uid(km.jail.sandbox)
        self.given = cwd if uid is not None else None
        if uid is not None:  # the kernel may add files to its folder; what nbgrader put there stays read-only to it
            for path in (cwd, km.runtime, Path(km.connection_file)):  # the connection file is written 0600
                os.chown(path, uid, uid)
        request = {"op": "spawn", "connection_file": km.connection_file, "cwd": str(cwd),
                   "log": str(km.runtime / "kernel.log"), "uid": uid,
                   "env": kernel_env({**os.environ, **(kwargs.get("env") or {})}, km.jail.sandbox),
                   "limits": km.jail.limits.rlimits(processes=uid is not None),
                   "guard": km.guard_key.hex() if km.guard_key else None}
        try:
            made = zygote(km.jail, cwd)
            pid = made.request(**request)["pid"]
        except ZygoteDied:  # it died since its last kernel: one fresh start
            made = zygote(km.jail, cwd)
            pid = made.request(**request)["pid"]
        self.process, self.zygote = ForkedKernel(made, pid), made
        self.pid, self.pgid, self.cwd = pid, None, str(cwd)
        return self.connection_info

    async def cleanup(self, restart: bool = False) -> None:
        """After every kernel: kill whatever it left running in the jail, empty /tmp, take its folder back."""
        if getattr(self, "zygote", None) is not None and self.zygote.alive():
            try:
                self.zygote.request(op="kill")
            except ZygoteDied:
                pass
        if getattr(self, "given", None) is not None and self.given.exists():
            os.chown(self.given, os.geteuid(), os.getegid())
        await super().cleanup(restart=restart)


class JailedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels are forks of the jail's zygote, talking over Unix sockets in a bound folder.

    TCP on localhost would not cross the jail's empty network namespace; Unix sockets in a bound folder do.
    """

    def __init__(self, *args, jail: Jail | None = None, guard_key: bytes | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.jail = jail or Jail()
        self.guard_key = guard_key  # arms guard.py in each kernel before any student code
        self.runtime = Path(tempfile.mkdtemp(prefix="kernel-", dir=runtime_base()))
        self.transport = "ipc"
        self.ip = str(self.runtime / "ipc")
        self.connection_file = str(self.runtime / "kernel.json")

    async def _async_pre_start_kernel(self, **kw):
        self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
        if self.provisioner is None:
            self.provisioner = ZygoteProvisioner(kernel_id=self.kernel_id or "", kernel_spec=self.kernel_spec,
                                                 parent=self)
        return await super()._async_pre_start_kernel(**kw)

    async def cleanup_resources(self, restart: bool = False) -> None:
        await super().cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self.runtime, ignore_errors=True)
