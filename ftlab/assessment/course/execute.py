"""nbgrader's Execute with a bounded worst case: a stuck or killed kernel costs one cell, not the notebook.

nbgrader 0.9 answers a timeout by sending SIGINT and waiting; a loop that ignores SIGINT then keeps the
kernel busy and every later cell times out too. Here a cell past its timeout is interrupted and given
`interrupt_grace` seconds to stop; one that does not, or that kills its kernel (exit(), os._exit, a
segfault, an rlimit), gets an error output, the kernel is killed and restarted, the cells that ran
before it are replayed silently to rebuild the state, and execution goes on with the next cell. The notebook
is flagged in the gradebook (formgrader shows it) and the reasons are kept in its metadata under "ftlab".
The kernel runs in the jail of jail.py as a fork of its warm zygote (zygote.py), so a restart costs a fork
and a replay, not a new interpreter importing torch. Output is kept only up to a budget per cell and per
notebook, so a cell that prints without end costs the grader bounded memory; the rest is dropped with a note.
"""
from __future__ import annotations

import copy
import math
from queue import Empty
from time import monotonic, sleep

from jupyter_core.utils import ensure_async, run_sync
from nbclient.exceptions import DeadKernelError
from nbconvert.preprocessors.execute import NotebookClient
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from ftlab.assessment.course.jail import Jail, JailedKernelManager, Limits
from ftlab.assessment.course.restore import grade_id, sanitize_flags


WATCH_PAUSE = 0.3  # seconds the kernel idles before the seal: the guard's watcher samples several times
GUARD_KEY = "ftlab_guard_key"  # nbgrader resources: the key InsertStateDumps made for this notebook's kernels
CAPPED = frozenset({"stream", "display_data", "execute_result", "update_display_data", "error", "comm_open",
                    "comm_msg"})  # iopub messages that carry a cell's output or widget state
TRUNCATED = "\n[output truncated by the grader: this cell printed more than it may keep]\n"


def _size(msg: dict) -> int:
    """About how many bytes an output message adds to the notebook (or to the widget state)."""
    content = msg.get("content", {})
    parts = [content.get("text", ""), content.get("evalue", ""), *content.get("traceback", [])]
    parts += [value for value in (content.get("data") or {}).values()]
    return sum(len(p) if isinstance(p, (str, bytes)) else len(str(p)) for p in parts) + \
        sum(len(b) for b in msg.get("buffers") or [])


class CellStuck(Exception):
    """A cell ran past its time."""


class BoundedExecute(Execute):
    """Execute every cell under a per-cell and a per-notebook time limit, inside the kernel jail."""

    submission_timeout = Integer(900, help="Wall seconds for the whole notebook; cells left then are not run.").tag(
        config=True)
    interrupt_grace = Integer(2, help="Seconds a timed-out cell gets to stop on SIGINT before its kernel is "
                                      "killed and restarted.").tag(config=True)
    sandbox = Bool(True, help="Run the kernel under bubblewrap; without it, refuse unless this is False.").tag(
        config=True)
    memory_mb = Integer(Limits.memory_mb, help="Address-space limit of the kernel (RLIMIT_AS), MiB.").tag(config=True)
    cpu_seconds = Integer(Limits.cpu_seconds, help="CPU-time limit of the kernel (RLIMIT_CPU), s.").tag(config=True)
    open_files = Integer(Limits.open_files, help="Open-file limit of the kernel (RLIMIT_NOFILE).").tag(config=True)
    processes = Integer(Limits.processes, help="Processes and threads of the kernel's uid (RLIMIT_NPROC; applied "
                                               "when grading runs as root and each kernel gets a uid of its own).").tag(
        config=True)
    file_mb = Integer(Limits.file_mb, help="Largest file the kernel may write (RLIMIT_FSIZE), MiB.").tag(config=True)
    tmp_mb = Integer(Limits.tmp_mb, help="Size of the kernel's private /tmp (a tmpfs in the jail), MiB.").tag(
        config=True)

    output_cell_kb = Integer(1024, help="KiB of output one cell keeps while it runs; later output is dropped, "
                                        "with a note in the cell and a flag.").tag(config=True)
    output_notebook_kb = Integer(16384, help="KiB of output the whole notebook keeps while it runs.").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", JailedKernelManager)
        super().__init__(*args, **kwargs)

    def create_kernel_manager(self):
        jail = Jail(Limits(self.memory_mb, self.cpu_seconds, self.open_files, self.processes, self.file_mb,
                           self.tmp_mb), self.sandbox)
        name = self.kernel_name or self.nb.metadata.get("kernelspec", {}).get("name")
        key = (getattr(self, "resources", None) or {}).get(GUARD_KEY)
        self.km = self.kernel_manager_class(config=self.config, jail=jail, guard_key=key,
                                            **({"kernel_name": name} if name else {}))
        return self.km

    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.flags: list[dict] = sanitize_flags(nb)  # what RestoreCellMetadata found before execution
        self.output_kept: dict[int, int] = {}  # bytes of output kept per cell index
        self.truncated: set[int] = set()  # cells whose later output was dropped
        self.deadline = monotonic() + self.submission_timeout
        started = monotonic()
        with self.setup_kernel():
            info = self.wait_for_reply(self.kc.kernel_info())
            self.nb.metadata["language_info"] = info["content"]["language_info"]
            kernel_ready = monotonic() - started
            ran: list[int] = []  # cells whose effects later cells may rely on, replayed after a restart
            seconds: list[list] = []  # [grade id or index, seconds] of every cell that ran to its end
            for index, cell in enumerate(self.nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                if self.deadline - monotonic() <= 0:
                    self._fail(cell, index, "SubmissionTimeLimit",
                               f"not run: the notebook used up its {self.submission_timeout} s")
                    continue
                if cell.metadata.get("ftlab", {}).get("seal"):  # the grader's last cell (a student's costs 0.3 s)
                    sleep(WATCH_PAUSE)  # idle kernel: the guard's watcher sees the objects between cells
                began, self.interrupted = monotonic(), None
                try:
                    self.preprocess_cell(cell, resources, index)
                except CellStuck as stuck:
                    self._fail(cell, index, "CellTimeoutError", f"the cell ran past {stuck.args[0]} s and ignored "
                                                                "the interrupt; the kernel was killed and restarted")
                    self._recover(ran)
                except DeadKernelError:
                    self._fail(cell, index, "DeadKernelError",
                               "the kernel died in this cell (exit, crash or a resource limit); it was restarted")
                    self._recover(ran)
                else:
                    if self.interrupted:  # stopped by SIGINT: the kernel and its state live on
                        self._fail(cell, index, "CellTimeoutError", f"the cell ran past {self.interrupted} s "
                                                                    "and was interrupted")
                    else:
                        ran.append(index)
                        seconds.append([grade_id(cell) or index, round(monotonic() - began, 2)])
        self.set_widgets_metadata()
        self.nb.metadata["ftlab"] = {"flags": self.flags, "kernel_start_s": round(kernel_ready, 2),
                                     "run_s": round(monotonic() - started, 2), "cell_s": seconds}
        if self.flags and resources:
            flag_notebook(resources)
        return self.nb, self.resources

    def process_message(self, msg, cell, cell_index):
        """Keep a cell's output only up to the cell's and the notebook's budgets: a cell printing without end costs
        the grader a bounded amount of memory, and the autograded notebook stays small."""
        if msg["msg_type"] in CAPPED:
            size = _size(msg)
            kept = self.output_kept.get(cell_index, 0)
            if cell_index in self.truncated or kept + size > self.output_cell_kb << 10 \
                    or sum(self.output_kept.values()) + size > self.output_notebook_kb << 10:
                if cell_index not in self.truncated:
                    self.truncated.add(cell_index)
                    cell.outputs.append(NotebookNode(output_type="stream", name="stderr", text=TRUNCATED))
                    self.flags.append({"cell": cell_index, "grade_id": grade_id(cell), "reason": "OutputLimit",
                                       "detail": TRUNCATED.strip()})
                return None
            self.output_kept[cell_index] = kept + size
        return super().process_message(msg, cell, cell_index)

    def _get_timeout(self, cell):
        """The cell's own timeout, cut to what is left of the notebook's."""
        timeout = super()._get_timeout(cell)
        if getattr(self, "deadline", None) is None:
            return timeout
        left = max(1, math.ceil(self.deadline - monotonic()))
        return left if timeout is None else min(timeout, left)

    async def _async_poll_for_reply(self, msg_id, cell, timeout, *args):
        self.waiting_for = msg_id  # the request a timeout interrupts
        return await super()._async_poll_for_reply(msg_id, cell, timeout, *args)

    async def _async_handle_timeout(self, timeout, cell=None):
        """Interrupt the cell; if its reply comes within the grace the kernel and its state are kept, else the
        kernel is killed (CellStuck)."""
        await ensure_async(self.km.interrupt_kernel())
        end = monotonic() + self.interrupt_grace
        while (left := end - monotonic()) > 0:
            try:
                reply = await ensure_async(self.kc.shell_channel.get_msg(timeout=left))
            except Empty:
                break
            if reply["parent_header"].get("msg_id") == getattr(self, "waiting_for", None):
                self.interrupted = timeout
                return reply
        raise CellStuck(timeout)

    def _fail(self, cell: NotebookNode, index: int, ename: str, why: str) -> None:
        """Record the failure as the cell's error output (nbgrader scores a test with an error 0) and flag it."""
        cell.outputs.append(NotebookNode(output_type="error", ename=ename, evalue=why,
                                         traceback=[f"\x1b[0;31m{ename}\x1b[0m: {why}"]))
        if ename == "SubmissionTimeLimit" and any(f["reason"] == ename for f in self.flags):
            return
        self.flags.append({"cell": index, "grade_id": grade_id(cell), "reason": ename, "detail": why})

    async def _async_recover(self, ran: list[int]) -> None:
        """Kill and restart the kernel, then replay the cells that ran before, keeping their first outputs."""
        if self.deadline - monotonic() <= 0:
            return  # nothing more will run
        await ensure_async(self.kc.stop_channels())
        await ensure_async(self.km.restart_kernel(now=True))
        await self.async_start_new_kernel_client()
        for index in ran:
            original = self.nb.cells[index]
            try:
                await self.async_execute_cell(copy.deepcopy(original), index, store_history=False)
            except (CellStuck, DeadKernelError):
                self.flags.append({"cell": index, "grade_id": grade_id(original), "reason": "ReplayFailed",
                                   "detail": "replaying this cell after a restart failed; later cells may lack it"})
                await ensure_async(self.kc.stop_channels())
                await ensure_async(self.km.restart_kernel(now=True))
                await self.async_start_new_kernel_client()
                return
            finally:
                self.nb.cells[index] = original

    _recover = run_sync(_async_recover)


def flag_notebook(resources: dict) -> None:
    """Mark the submission's notebook as flagged in nbgrader's gradebook (formgrader shows it); the reasons are
    in the notebook's metadata under "ftlab"."""
    ids = resources.get("nbgrader")
    if not ids or "db_url" not in ids:
        return
    with Gradebook(ids["db_url"]) as gb:
        gb.find_submission_notebook(ids["notebook"], ids["assignment"], ids["student"]).flagged = True
        gb.db.commit()
