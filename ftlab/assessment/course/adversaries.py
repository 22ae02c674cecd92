"""Scripted broken and hostile submissions for the freezing assignment: what class-wide autograding must survive.

Each probe prints `PROBE <name>: blocked (<error>)` or `PROBE <name>: ESCAPED`, so a grader (or a test)
reads from the autograded notebook whether the sandbox held; the grades show whether the rest still counted.
"""
from __future__ import annotations

from pathlib import Path

from ftlab.assessment.course.sandbox import Student

FIRST = "e1-freeze-all"  # the first answer cell: hostile code goes there, before the right answer
SECOND = "e2-replace-head"
STUCK = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C cannot stop it\nwhile True:\n    pass"
EXIT = "import os\nos._exit(3)"
SEGFAULT = "import ctypes\nctypes.string_at(0)"


def _probe(name: str, attempt: str) -> str:
    body = "\n".join("    " + line for line in attempt.splitlines())
    return (f"try:\n{body}\n    print('PROBE {name}: ESCAPED')\n"
            f"except BaseException as error:\n    print('PROBE {name}: blocked (' + type(error).__name__ + ')')\n")


# Forks until fork fails (each child sleeps, so only a process limit stops it), then ends its children.
FORK_BOMB = """import os, signal
kids = []
try:
    for _ in range(20000):
        pid = os.fork()
        if pid == 0:
            signal.pause()
            os._exit(0)
        kids.append(pid)
finally:
    for pid in kids:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)"""
# Writes 16 MiB blocks until a write fails (256 GiB at most), then removes the file.
FILL = """import os
try:
    with open({path!r}, 'wb') as fill:
        for _ in range(1 << 14):
            fill.write(bytes(16 << 20))
finally:
    if os.path.exists({path!r}):
        os.remove({path!r})"""


def probes(course: Path, assignment: str, port: int) -> str:
    """Code that tries to read the instructor's source, write the gradebook and site-packages, reach the network
    (a server listening on 127.0.0.1:`port`), allocate 64 GiB, fill /tmp and its own folder and fork 20000
    processes. Each cleans up after itself, so the prober's right answer still counts."""
    source = (course / "source" / assignment / f"{assignment}.ipynb").resolve()
    gradebook = (course / "gradebook.db").resolve()
    return "".join([
        _probe("read-source", f"open({str(source)!r}).read()"),
        _probe("write-gradebook", f"open({str(gradebook)!r}, 'r+b').write(b'owned')"),
        _probe("write-site-packages", "import pathlib, torch\n"
                                      "(pathlib.Path(torch.__file__).parents[1] / 'ftlab_probe.txt').write_text('x')"),
        _probe("socket", f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=3).close()"),
        _probe("memory", "blob = bytearray(64 << 30)"),
        _probe("fill-tmp", FILL.format(path="/tmp/fill.bin")),
        _probe("fill-folder", FILL.format(path="fill.bin")),
        _probe("fork-bomb", FORK_BOMB),
    ])


def students(keys: dict[str, str], course: Path, assignment: str, port: int) -> dict[str, Student]:
    """One student of each kind by kind: honest, partial, blank, stuck, sigint, crash, segfault, probe."""
    wrong = {FIRST: "model.eval()", SECOND: "model.head = None"}
    return {
        "honest": Student("honest", dict(keys)),
        "partial": Student("partial", {**keys, **wrong}),
        "blank": Student("blank"),
        "stuck": Student("stuck", {**keys, FIRST: "while True:\n    pass"}),
        "sigint": Student("sigint", {**keys, FIRST: STUCK}),
        "crash": Student("crash", {**keys, SECOND: EXIT}),
        "segfault": Student("segfault", {**keys, SECOND: SEGFAULT}),
        "probe": Student("probe", {**keys, FIRST: probes(course, assignment, port) + keys[FIRST]}),
    }


# ---- forgeries: make the grader's saved state say "frozen" while the live model trains (each answer is
# `model.eval()`, which freezes nothing, so each must earn what model.eval() earns: 0 of 2) ------------------
THAW = ("def _thaw(model):\n    for p in model.parameters():\n        p.requires_grad_(True)\n"
        "def _freeze(model):\n    for p in model.parameters():\n        p.requires_grad_(False)\n")
FORGERIES = {
    "profile": THAW + "import sys, threading\n_m = model\n"
                      "def _hook(frame, event, arg):\n    _freeze(_m)\n"
                      "sys.setprofile(_hook)\nthreading.setprofile(_hook)\nmodel.eval()",
    "runcell": THAW + "_m = model\nget_ipython().events.register('pre_run_cell', lambda *a: _freeze(_m))\n"
                      "get_ipython().events.register('post_run_cell', lambda *a: _thaw(_m))\n"
                      "get_ipython().events.register('pre_execute', lambda: _freeze(_m))\n"
                      "get_ipython().events.register('post_execute', lambda: _thaw(_m))\nmodel.eval()",
    "liar": "class _Liar(nn.Parameter):\n    requires_grad = property(lambda self: False, lambda self, v: None)\n"
            "for _mod in model.modules():\n    for _k, _p in list(_mod._parameters.items()):\n"
            "        if _p is not None:\n            _mod._parameters[_k] = _Liar(_p.data, True)\nmodel.eval()",
    "classlie": "import copy\n_frozen = copy.deepcopy(model).requires_grad_(False)\n"
                "class GlyphNet:  # not a Module, but isinstance() believes its __class__\n"
                "    __class__ = property(lambda self: type(_frozen))\n"
                "_fake = GlyphNet()\n_fake.__dict__.update(_frozen.__dict__)\n_live, model = model, _fake\n_live.eval()",
    "torchsave": "_save = torch.save\n"
                 "def _forge(obj, path, *a, **k):\n    torch.save = _save  # once, for this task's state only\n"
                 "    if isinstance(obj, dict) and 'model' in obj:\n"
                 "        obj['model']['requires_grad'] = dict.fromkeys(obj['model']['requires_grad'], False)\n"
                 "    return _save(obj, path, *a, **k)\ntorch.save = _forge\nmodel.eval()",
    "bool": "class bool(int):  # shadows the builtin while the grader's next cell runs, then is gone\n"
            "    def __new__(cls, *a):\n        return False\n"
            "get_ipython().events.register('post_run_cell', lambda result: globals().pop('bool', None)\n"
            "                              if 'ftlab' in result.info.raw_cell else None)\nmodel.eval()",
    "rewrite": THAW + ("import glob, os, threading, time\n"
                       "def _rewrite():\n    for _ in range(20000):\n"
                       "        for path in glob.glob('.ftlab-state-*'):\n            time.sleep(0.2)\n"
                       "            try:\n                record = torch.load(path, weights_only=True)\n"
                       "            except Exception:\n"
                       "                record = {'missing': [], 'types': {'model': 'GlyphNet'}, 'model': None}\n"
                       "            if record.get('model'):\n"
                       "                record['model']['requires_grad'] = dict.fromkeys(record['model']['requires_grad'], False)\n"
                       "            torch.save(record, path + '.new')\n            os.replace(path + '.new', path)\n"
                       "            return\n"
                       "        time.sleep(0.001)\n"
                       "threading.Thread(target=_rewrite, daemon=True).start()\nmodel.eval()"),
    "thread": THAW + ("import threading, time\n_m = model\n_kernel = get_ipython().kernel\n"
               "def _watch():\n    while True:\n"
               "        code = str(_kernel.get_parent().get('content', {}).get('code', ''))\n"
               "        (_freeze if 'ftlab' in code else _thaw)(_m)\n        time.sleep(0.0005)\n"
               "threading.Thread(target=_watch, daemon=True).start()\nmodel.eval()"),
}


def forgers(keys: dict[str, str]) -> dict[str, Student]:
    """One student per forgery; every other answer is the instructor's, so each should score 9 - 2 = 7."""
    return {name: Student(f"forge-{name}", {**keys, FIRST: source}) for name, source in FORGERIES.items()}
