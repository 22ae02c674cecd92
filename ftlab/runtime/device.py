"""Which device to train on, and how: cuda first, then Apple's mps, then the CPU."""
from __future__ import annotations

import torch


def pick_device(requested: str | None = None) -> torch.device:
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def model_device(model: torch.nn.Module) -> torch.device:
    """Where a model's weights are (its first parameter's or buffer's device; the CPU for an empty model): the
    device every helper that measures or compares the model computes on."""
    first = next(iter(model.parameters()), None)
    if first is None:
        first = next(iter(model.buffers()), None)
    return first.device if first is not None else torch.device("cpu")


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The autocast dtype for training on `device`: None (full precision) off CUDA, else amp_dtype's choice for
    this GPU's compute capability."""
    if device.type != "cuda":
        return None
    return amp_dtype(torch.cuda.get_device_capability(device))


def amp_dtype(capability: tuple[int, int]) -> torch.dtype:
    """bf16 on GPUs that compute it natively (compute capability 8.0 or newer: Ampere, Hopper, ...), else fp16,
    which the trainer pairs with a GradScaler. (torch.cuda.is_bf16_supported() also says yes on a T4 or a
    V100, where bf16 is only emulated and slow.)"""
    return torch.bfloat16 if tuple(capability) >= (8, 0) else torch.float16


def configure(device: torch.device) -> None:
    """Let cuDNN time its convolution algorithms once per input shape and keep the fastest (the trainer's
    shapes repeat every step)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True


def seed_device(device: torch.device, seed: int) -> None:
    """Seed the CPU generator and, on CUDA, that device's (torch.manual_seed would also queue a lazy seeding of
    every CUDA device, costing a traceback capture on each call)."""
    torch.default_generator.manual_seed(seed)
    if device.type == "cuda":
        torch.cuda.manual_seed(seed)
    elif device.type == "mps":
        torch.mps.manual_seed(seed)


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type
