"""The six parts of the suite: each returns Figures (a measured ratio against its target) and tables."""
from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch

from ftlab.runtime.device import pick_device
from ftlab.runtime.freezing import freeze, group_names, unfreeze
from ftlab.runtime.measure import count_parameters
from ftlab.runtime.table import Table
from ftlab.runtime.train import Trainer
from ftlab.bench.timing import (Workload, build_model, environment, interleaved, median, peak_tflops, synthetic, timed,
                      train_flops_per_image)
from ftlab.bench.plain import HandTuned, Tutorial

PARTS = {1: "training throughput: ftlab vs hand-tuned plain PyTorch",
         2: "GPU: ftlab vs the transfer-learning tutorial's loop, and model FLOP utilisation",
         3: "head-only epochs: frozen-feature cache vs recomputing the frozen backbone",
         4: "step time vs number of frozen groups",
         5: "live dashboard overhead",
         6: "lesson notebooks' wall time (quick profile)"}


@dataclass
class BenchConfig:
    """What to run, where, and the targets."""

    device: str | None = None  # None picks cuda, then mps, then cpu (as the trainer does)
    threads: int | None = None  # torch intra-op threads; None keeps torch's default (one per core)
    clock: str = "wall"  # "wall", or "cpu": process CPU time on the CPU device (for shared machines, 1 thread)
    parts: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
    quick: bool = False  # tiny sizes and one timed run: a smoke test, not a measurement
    runs: int = 5  # timed runs per variant (after one warm-up); figures are medians
    out: str = "benchmarks/results"  # where the JSON record goes
    lessons: str = "lessons"  # notebooks for part 6
    peak_tflops: float | None = None  # the GPU's dense bf16 peak, when it is not in measure.PEAK_BF16_TFLOPS
    throughput_target: float = 0.95  # part 1: ftlab / plain images per second
    tutorial_target: float = 2.0  # part 2: ftlab / tutorial images per second
    cache_target: float = 20.0  # part 3: recomputing epoch time / cached epoch time
    dashboard_target: float = 0.05  # part 5: at most this fraction slower with the dashboard
    lesson_budget_s: float = 90.0  # part 6: per notebook, on the 2-core CPU


@dataclass
class Figure:
    """One measured figure against its target; `measured` is None when the part was skipped (see note)."""

    part: int
    name: str
    measured: float | None
    target: float | None
    higher_is_better: bool = True
    unit: str = "x"
    detail: dict = field(default_factory=dict)
    note: str = ""

    @property
    def ok(self) -> bool | None:
        if self.measured is None or self.target is None:
            return None
        return self.measured >= self.target if self.higher_is_better else self.measured <= self.target

    def line(self) -> str:
        if self.measured is None:
            return f"[{self.part}] {self.name}: SKIPPED ({self.note})"
        sign = ">=" if self.higher_is_better else "<="
        verdict = {True: "ok", False: "MISS", None: ""}[self.ok]
        target = f"target {sign} {self.target:g}{self.unit}" if self.target is not None else "no target"
        extra = ", ".join(f"{k} {_fmt(v)}" for k, v in self.detail.items()
                          if not isinstance(v, (list, dict)) and "\n" not in str(v))
        return f"[{self.part}] {self.name}: measured {self.measured:.3g}{self.unit} / {target} {verdict}  ({extra})"


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def workloads(device: torch.device, quick: bool) -> dict[int, list[Workload]]:
    """Sizes per part: the CPU suite stays under ~5 minutes on 2 cores; the GPU one uses 224 px ResNets."""
    if quick:
        tiny = [Workload("glyphnet", 32, 16, 2)]
        return {1: tiny, 2: tiny, 3: tiny, 4: tiny}
    if device.type == "cuda":
        r18, r50 = Workload("resnet18", 224, 128, 20), Workload("resnet50", 224, 128, 20)
        return {1: [r18, r50], 2: [r18, r50], 3: [Workload("resnet50", 224, 128, 16)], 4: [r50]}
    return {1: [Workload("glyphnet", 32, 64, 20), Workload("resnet18", 64, 16, 10)],
            3: [Workload("glyphnet", 32, 64, 16), Workload("resnet18", 64, 32, 4)],
            4: [Workload("resnet18", 64, 16, 2)]}


def _trainer(model, data, w: Workload, device: torch.device, **kw) -> Trainer:
    return Trainer(model, data, None, lr=0.01, batch_size=w.batch, progress=False, device=str(device), **kw)


def _precision(device: torch.device) -> str:
    return "bf16 autocast, channels_last" if device.type == "cuda" else "fp32, channels_last"


def part1(cfg: BenchConfig, device: torch.device, ws: list[Workload]) -> list[Figure]:
    figures = []
    for w in ws:
        model = build_model(w)
        data = synthetic(model, w.batch * w.steps, w.size)
        plain = HandTuned(copy.deepcopy(model), data, w.batch, device)
        trainer = _trainer(model, data, w, device)
        ftlab_losses = trainer.fit(epochs=1).series("loss")  # warm-up: same weights, data and order
        gap = max(abs(a - b) for a, b in zip(ftlab_losses, plain.epoch()))
        times = interleaved({"ftlab": lambda: timed(lambda: trainer.fit(epochs=1), device, cfg.clock),
                             "plain": lambda: timed(plain.epoch, device, cfg.clock)}, cfg.runs)
        ips = {k: len(data) / median(v) for k, v in times.items()}
        figures.append(Figure(1, f"throughput ftlab / hand-tuned plain, {w.label} {_precision(device)}",
                              ips["ftlab"] / ips["plain"], cfg.throughput_target,
                              detail={"ftlab img/s": ips["ftlab"], "plain img/s": ips["plain"],
                                      "warm-up loss gap": gap, "runs": cfg.runs, "seconds": times}))
    return figures


def part2(cfg: BenchConfig, device: torch.device, ws: list[Workload]) -> list[Figure]:
    if device.type != "cuda":
        return [Figure(2, "throughput ftlab / tutorial loop, resnet18 and resnet50 224px", None, cfg.tutorial_target,
                       note=f"needs CUDA; this run is on {device.type}")]
    peak = peak_tflops(device, cfg.peak_tflops)
    figures = []
    for w in ws:
        model = build_model(w)
        flops = train_flops_per_image(model, w.size, device)
        data = synthetic(model, w.batch * w.steps, w.size)
        tutorial = Tutorial(copy.deepcopy(model), data, w.batch, device)
        trainer = _trainer(model, data, w, device)
        trainer.fit(epochs=1)
        tutorial.epoch()
        times = interleaved({"ftlab": lambda: timed(lambda: trainer.fit(epochs=1), device, cfg.clock),
                             "tutorial": lambda: timed(tutorial.epoch, device, cfg.clock)}, cfg.runs)
        ips = {k: len(data) / median(v) for k, v in times.items()}
        mfu = {f"{k} MFU": flops * v / (peak * 1e12) if peak else None for k, v in ips.items()}
        figures.append(Figure(2, f"throughput ftlab (bf16, channels_last) / tutorial (fp32), {w.label}",
                              ips["ftlab"] / ips["tutorial"], cfg.tutorial_target,
                              detail={"ftlab img/s": ips["ftlab"], "tutorial img/s": ips["tutorial"], **mfu,
                                      "train GFLOP/img": flops / 1e9, "peak bf16 TFLOP/s": peak,
                                      "runs": cfg.runs, "seconds": times},
                              note="" if peak else "peak unknown for this GPU: pass --peak-tflops for MFU"))
    return figures


def part3(cfg: BenchConfig, device: torch.device, ws: list[Workload]) -> list[Figure]:
    figures = []
    for w in ws:
        model = build_model(w)
        freeze(model)
        unfreeze(model, "head")
        data = synthetic(model, w.batch * w.steps, w.size)
        plain = HandTuned(copy.deepcopy(model), data, w.batch, device, head_only=True)
        trainer = _trainer(model, data, w, device, feature_cache=True)
        first = timed(lambda: trainer.fit(epochs=1), device, cfg.clock)  # computes and caches the features
        gap = max(abs(a - b) for a, b in zip(trainer.history.series("loss"), plain.epoch()))
        times = interleaved({"cached": lambda: timed(lambda: trainer.fit(epochs=1), device, cfg.clock),
                             "recomputed": lambda: timed(plain.epoch, device, cfg.clock)}, cfg.runs)
        mode = trainer.history.steps[-1]["mode"]
        figures.append(Figure(3, f"head-only epoch: recomputed backbone (plain) / ftlab cache, {w.label}",
                              median(times["recomputed"]) / median(times["cached"]), cfg.cache_target,
                              detail={"cached epoch s": median(times["cached"]),
                                      "recomputed epoch s": median(times["recomputed"]), "ftlab first epoch s": first,
                                      "ftlab mode": mode, "warm-up loss gap": gap, "runs": cfg.runs,
                                      "seconds": times}))
    return figures


def part4(cfg: BenchConfig, device: torch.device, ws: list[Workload]) -> tuple[list[Figure], list[Table]]:
    tables = []
    for w in ws:
        body = group_names(build_model(w))[:-1]  # stem .. stage4; the head always trains
        trainers = {}
        for k in range(len(body) + 1):
            model = build_model(w)
            if k:
                freeze(model, *body[:k])
            data = synthetic(model, w.batch * w.steps, w.size)
            trainers[k] = _trainer(model, data, w, device, feature_cache=False)
            trainers[k].fit(epochs=1)
        fits = {k: (lambda t=t: timed(lambda: t.fit(epochs=1), device, cfg.clock)) for k, t in trainers.items()}
        times = interleaved(fits, cfg.runs)
        ms = {k: 1000 * median(v) / w.steps for k, v in times.items()}
        rows = [[", ".join(body[:k]) or "none", count_parameters(t.model)[1], ms[k], w.batch * 1000 / ms[k],
                 ms[0] / ms[k]] for k, t in trainers.items()]
        tables.append(Table(["frozen groups", "trainable params", "ms/step", "img/s", "speed-up"], rows,
                            f"[4] step time vs frozen groups, {w.label} {_precision(device)}, "
                            f"median of {cfg.runs} runs of {w.steps} steps"))
    return [], tables


def part5(cfg: BenchConfig, device: torch.device) -> list[Figure]:
    """Runs `python -m ftlab.bench dashboard-overhead` in a process of its own (the dashboard's training thread
    and widgets stay out of this one) and reads its "throughput ratio with/without" line."""
    name = "throughput cost of the live dashboard (1 - with/without), glyphnet full fine-tuning"
    args = [sys.executable, "-m", "ftlab.bench", "dashboard-overhead"] + (["--steps", "10", "--pairs", "1"]
                                                                         if cfg.quick else [])
    env = os.environ | ({"OMP_NUM_THREADS": str(cfg.threads)} if cfg.threads else {})
    done = subprocess.run(args, capture_output=True, text=True, timeout=900, env=env)
    ratio = re.search(r"throughput ratio with/without: ([0-9.]+)", done.stdout)
    if not ratio:
        return [Figure(5, name, None, cfg.dashboard_target, detail={"output": done.stdout[-2000:]},
                       note=f"dashboard-overhead exited {done.returncode} without a throughput ratio line: "
                            f"{(done.stderr or done.stdout).strip()[-200:]}")]
    redraws = re.search(r"time inside dashboard redraws: ([0-9.]+)%", done.stdout)
    return [Figure(5, name, 1 - float(ratio.group(1)), cfg.dashboard_target, higher_is_better=False, unit="",
                   detail={"redraw share": float(redraws.group(1)) / 100 if redraws else None,
                           "command": " ".join(args[1:]), "output": done.stdout[-2000:]})]


def part6(cfg: BenchConfig, device: torch.device) -> list[Figure]:
    import nbclient
    import nbformat

    notebooks = sorted(Path(cfg.lessons).glob("*.ipynb"))
    if not notebooks:
        return [Figure(6, "lesson wall time", None, cfg.lesson_budget_s, note=f"no notebooks in {cfg.lessons}/")]
    figures = []
    for path in notebooks:
        with tempfile.TemporaryDirectory() as work:  # files the lesson writes land in a throwaway copy
            nb = nbformat.read(path, as_version=4)  # stored with PROFILE = "quick" in its parameters cell
            client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                             resources={"metadata": {"path": work}})
            env = {"FTLAB_DATA_DIR": str(Path(work) / "ftlab-data"), "MPLBACKEND": "Agg"}
            if cfg.threads:
                env["OMP_NUM_THREADS"] = str(cfg.threads)
            started, cpu_started, note = time.perf_counter(), _children_cpu(), ""
            with _environ(env):
                try:
                    client.execute()
                except Exception as err:  # a failing lesson is reported; the others still run
                    note = f"failed: {type(err).__name__}: {str(err).strip().splitlines()[-1][:200]}"
            wall, cpu = time.perf_counter() - started, _children_cpu() - cpu_started
        name = f"lesson {path.name} {cfg.clock} time (headless, quick profile, kernel start included)"
        figures.append(Figure(6, name, cpu if cfg.clock == "cpu" else wall, cfg.lesson_budget_s,
                              higher_is_better=False, unit=" s", note=note,
                              detail={"wall s": wall, "kernel cpu s": cpu, "status": note or "ran"}))
    return figures


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: the notebook kernels."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def _environ(values: dict[str, str]):
    """Environment variables set for the block (the notebook kernel inherits them)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v


def _part(part: int, cfg: BenchConfig, device: torch.device, ws: dict) -> tuple[list[Figure], list[Table]]:
    if part == 4:
        return part4(cfg, device, ws[4])
    runners = {1: lambda: part1(cfg, device, ws[1]), 2: lambda: part2(cfg, device, ws.get(2, [])),
               3: lambda: part3(cfg, device, ws[3]), 5: lambda: part5(cfg, device), 6: lambda: part6(cfg, device)}
    return runners[part](), []


def run(cfg: BenchConfig) -> dict:
    """Run the selected parts, print each figure as it is measured, write the JSON record; returns it."""
    device = pick_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    env = environment(device)
    ws = workloads(device, cfg.quick)
    print(f"ftlab.bench on {env.get('gpu', env['cpu'])} ({device}); python {env['python']}, torch {env['torch']}, "
          f"torchvision {env['torchvision']}, {env['torch_threads']} threads; median of {cfg.runs} runs per figure, "
          f"{cfg.clock} clock")
    record = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "argv": sys.argv,
              "config": asdict(cfg), "environment": env, "figures": [], "tables": []}
    started = time.perf_counter()
    for part in cfg.parts:
        print(f"\n== part {part}: {PARTS[part]}", flush=True)
        figures, tables = _part(part, cfg, device, ws)
        for f in figures:
            print(f.line(), flush=True)
            record["figures"].append(asdict(f) | {"ok": f.ok})
        for t in tables:
            print(t, flush=True)
            record["tables"].append({"title": t.title, "columns": t.columns, "rows": t.rows})
    record["seconds"] = time.perf_counter() - started
    missed = [f["name"] for f in record["figures"] if f["ok"] is False]
    print(f"\n{len(record['figures'])} figures, {len(missed)} missed, in {record['seconds']:.0f} s")
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{device.type}{'-quick' if cfg.quick else ''}.json"
    path.write_text(json.dumps(record, indent=1, default=str))
    print(f"record: {path}")
    record["path"] = str(path)
    return record
