"""A pre-warmed kernel factory: one jailed process that has imported torch, ftlab and ipykernel forks each kernel.

`import torch` and friends are most of a grading kernel's start. The zygote imports them once, runs no torch
op, starts no thread (OpenBLAS's pool aside, which it shuts down before a fork) and opens no ZMQ context,
then waits for requests on its stdin. Each `spawn` forks a child that drops to its own session, rlimits and
(as root) a uid of its own, and becomes an ipykernel for the connection file jupyter_client wrote: a fresh
process, with the imports already in memory. `kill` ends every process in the jail but the zygote and
empties the jail's /tmp, so the next kernel (the next submission, or a restart after a stuck cell) finds
nothing left over. The host side is `Zygote`; jail.py runs it under bubblewrap and plugs it into
jupyter_client as a kernel provisioner.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

# What every course notebook imports; loaded by the zygote, never run.
PRELOAD = ("numpy", "torch", "torch.nn", "torchvision", "ftlab", "ftlab.runtime.models",
           "ftlab.assessment.course.check", "ftlab.assessment.course.guard",
           "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "IPython.core.debugger",
           "IPython.core.completerlib", "IPython.extensions.storemagic", "sqlite3")
# A grading kernel keeps no input history on disk: its /tmp is emptied after it anyway.
KERNEL_ARGS = ("--HistoryManager.enabled=False",)


class ZygoteDied(RuntimeError):
    """The zygote process is gone (killed, out of memory); a new one is started on the next spawn."""


class Zygote:
    """Host side: the zygote process (under `argv`, e.g. bubblewrap) and its request pipe."""

    def __init__(self, argv: list[str], log: str | None = None):
        err = open(log, "ab") if log else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                         start_new_session=True)
        finally:
            if log:
                err.close()
        self.lock = threading.Lock()
        self.ready = self._read()  # blocks until the imports are done

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            self.close()
            raise ZygoteDied(f"the kernel zygote exited ({self.proc.poll()}) before answering")
        return json.loads(line)

    def request(self, **message) -> dict:
        """Send one request and return the zygote's answer."""
        with self.lock:
            try:
                self.proc.stdin.write(json.dumps(message).encode() + b"\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                self.close()
                raise ZygoteDied("the kernel zygote is gone") from None
            answer = self._read()
        if "error" in answer:
            raise RuntimeError(f"kernel zygote: {answer['error']}")
        return answer

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        """End the zygote and the kernels it forked: closing its pipe makes it kill them (in their own sessions)
        and exit; whatever is left of its session is then killed (bubblewrap takes the jail down with it)."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:  # a request half-written to a dead zygote
                pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


# ---- inside the jail ----------------------------------------------------------------------------------------

def _others() -> list[int]:
    """Every live process of this pid namespace but the zygote and bubblewrap's init (pid 1)."""
    me, found = os.getpid(), []
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) not in (1, me):
            try:
                with open(f"/proc/{name}/stat") as stat:
                    if stat.read().rsplit(")", 1)[1].split()[0] != "Z":  # a zombie waits for init to reap it
                        found.append(int(name))
            except OSError:
                pass
    return found


def _clear(pids: dict[int, int | None], jailed: bool) -> None:
    """Kill every other process of the jail (repeatedly: a fork bomb keeps forking), reap the kernels, empty
    /tmp. Outside a jail (no pid namespace of its own) only the kernels' sessions are killed."""
    for _ in range(200):
        others = _others() if jailed else [pid for pid, status in pids.items() if status is None]
        if not others:
            break
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL) if jailed else os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _reap(pids)
        if not jailed:
            break
        time.sleep(0.01)
    _reap(pids)
    if jailed:
        _wipe("/tmp", _mounts_under("/tmp"))


def _mounts_under(folder: str) -> set[str]:
    """Mount points below `folder` (the bound workspace and sockets), read from /proc/self/mountinfo."""
    with open("/proc/self/mountinfo") as info:
        points = {line.split()[4] for line in info}
    return {p for p in points if p.startswith(folder + "/")}


def _wipe(folder: str, keep: set[str]) -> None:
    """Delete everything in `folder` except the mount points in `keep` and the folders leading to them."""
    import shutil

    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if path in keep:
            continue
        if any(point.startswith(path + "/") for point in keep):
            _wipe(path, keep)
        elif os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _reap(pids: dict[int, int | None]) -> None:
    for pid, status in pids.items():
        if status is None:
            try:
                done, code = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pids[pid] = -signal.SIGKILL
                continue
            if done:
                pids[pid] = os.waitstatus_to_exitcode(code)


def _child(request: dict) -> None:
    """In the forked child: become the kernel of `request` (never returns)."""
    code = 1
    try:
        os.setsid()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL if sig != signal.SIGINT else signal.default_int_handler)
        null = os.open(os.devnull, os.O_RDWR)
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(null, 0)
        os.dup2(null, 1)
        os.dup2(log, 2)
        os.closerange(3, 1024)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        import resource

        for name, value in request["limits"].items():
            resource.setrlimit(getattr(resource, name), (value, value))
        if request.get("uid") is not None:
            os.setgroups([])
            os.setgid(request["uid"])
            os.setuid(request["uid"])
        if request.get("guard"):  # before any student code; the key stays in the hook alone (guard.py)
            from ftlab.assessment.course.guard import arm

            arm(bytes.fromhex(request.pop("guard")))
        sys.argv = ["ipykernel_launcher", "-f", request["connection_file"], *KERNEL_ARGS]
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=sys.argv[1:])
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(jailed: bool) -> None:
    """The zygote's loop: import PRELOAD, say ready, then answer spawn / poll / signal / kill requests.

    `jailed`: this process is alone in its own pid namespace and /tmp (bubblewrap), so `kill` may clear both."""
    import importlib

    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # a stray print must not corrupt the answers
    for name in PRELOAD:
        importlib.import_module(name)
    threads = len(os.listdir("/proc/self/task"))
    out.write(json.dumps({"ready": True, "threads": threads, "modules": len(sys.modules)}) + "\n")
    out.flush()
    pids: dict[int, int | None] = {}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            op = request["op"]
            if op == "spawn":
                pid = os.fork()
                if pid == 0:
                    _child(request)
                pids[pid] = None
                answer = {"pid": pid}
            elif op == "poll":
                _reap(pids)
                answer = {"status": pids.get(request["pid"], -signal.SIGKILL)}
            elif op == "signal":
                try:
                    os.killpg(request["pid"], request["signal"])
                except ProcessLookupError:
                    pass
                answer = {}
            elif op == "kill":
                _clear(pids, jailed)
                pids = {pid: status for pid, status in pids.items() if status is None}
                answer = {}
            else:
                answer = {"error": f"unknown request {op!r}"}
        except Exception as error:  # noqa: BLE001 - the host gets the reason; the zygote lives on
            answer = {"error": f"{type(error).__name__}: {error}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    _clear(pids, jailed)  # the host closed the pipe: leave nothing behind


if __name__ == "__main__":
    serve(jailed=sys.argv[1:] == ["--jailed"])
