"""Workloads, synthetic data, interleaved timing, FLOP counting and the record of the machine."""
from __future__ import annotations

import copy
import importlib.metadata
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from ftlab.runtime.freezing import set_mode
from ftlab.runtime.models import get_model, info

# dense bf16 tensor-core peak in TFLOP/s, by a substring of torch.cuda.get_device_name (first match wins)
PEAK_BF16_TFLOPS = {"H100 PCIe": 756, "H100 NVL": 835, "H100": 989, "H200": 989, "GH200": 989, "B200": 2250,
                    "A100": 312, "L40S": 362, "L40": 181, "L4": 121, "RTX 4090": 165, "A10": 125}


@dataclass(frozen=True)
class Workload:
    """One model, input size and batch; `steps` optimizer steps (one epoch) per timed run."""

    model: str
    size: int
    batch: int
    steps: int

    @property
    def label(self) -> str:
        return f"{self.model} {self.size}px b{self.batch}"


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build_model(w: Workload, num_classes: int = 10) -> nn.Module:
    """A randomly initialised model (seed 0) that sees `w.size` px inputs."""
    torch.manual_seed(0)
    model = get_model(w.model, num_classes=num_classes, weights=None)
    pre = info(model).preprocess
    model.ftlab.preprocess = replace(pre, size=w.size, resize_size=w.size)
    return model


def synthetic(model: nn.Module, n: int, size: int, num_classes: int = 10, seed: int = 0):
    """Random uint8 images [n, C, size, size] and labels, as an ImageSet would hold them."""
    from ftlab.runtime.data import ImageSet

    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, info(model).preprocess.channels, size, size), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, num_classes, (n,), generator=g)
    return ImageSet(images, labels, [str(c) for c in range(num_classes)])


def timed(fn: Callable[[], object], device: torch.device, clock: str = "wall") -> float:
    """Seconds of fn(), synchronised with the device before and after: wall time, or with clock="cpu"
    this process's CPU time (blind to other users' load and to descheduling; meant for one thread)."""
    now = time.process_time if clock == "cpu" and device.type == "cpu" else time.perf_counter
    sync(device)
    t = now()
    fn()
    sync(device)
    return now() - t


def interleaved(variants: dict[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """Each variant once per round, the order reversed every other round, so drift hits all alike."""
    names, out = list(variants), {k: [] for k in variants}
    for r in range(runs):
        for name in names if r % 2 == 0 else names[::-1]:
            out[name].append(variants[name]())
    return out


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def train_flops_per_image(model: nn.Module, size: int, device: torch.device) -> float:
    """FLOPs of one forward + backward per image (torch.utils.flop_counter, batch of 2, fp32)."""
    m = set_mode(copy.deepcopy(model).to(device), True)
    x = torch.randn(2, info(model).preprocess.channels, size, size, device=device)
    with FlopCounterMode(display=False) as counter:
        m(x).float().sum().backward()
    return counter.get_total_flops() / 2


def peak_tflops(device: torch.device, override: float | None) -> float | None:
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def environment(device: torch.device) -> dict:
    """Hardware and versions, for the JSON record and the printed header."""
    cpu = platform.processor() or platform.machine()
    if os.path.exists("/proc/cpuinfo"):
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        cpu = names[0] if names else cpu
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                timeout=5).stdout.strip() or None
    except OSError:
        commit = None
    env = {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision.__version__,
           "ftlab": importlib.metadata.version("ftlab"),
           "cpu": cpu, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
           "device": str(device), "git_commit": commit, "platform": platform.platform()}
    if device.type == "cuda":
        env.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version())
    return env
