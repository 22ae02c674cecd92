"""A coding task's raw state, saved in the student's kernel by guard.py and rebuilt in the grader's process.

The saved file holds only plain values and tensor bytes (state_dict with BatchNorm buffers, requires_grad flags,
module types, training modes and plain attributes, optimizer class, param groups and hyper-parameters),
serialised with marshal and signed with a key the kernel's code never sees, so a submission can hand the grader
neither code nor a state of its own making. A file is read only when it is a regular file of bounded size
(never a link, FIFO or device), its signature holds and the kernel's seal says the objects stayed as saved;
every tensor's dtype and shape are checked against GlyphNet before use. Anything else is a StateError: that
task scores 0 and the notebook is flagged with the reason.
"""
from __future__ import annotations

import marshal
import os
import stat
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ftlab.assessment.course.guard import MAX_BYTES, trigger_source, verify

MAX_FILE = MAX_BYTES + (1 << 20)  # the tensors plus names, flags and the signature
DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "int64": torch.int64,
          "int32": torch.int32, "uint8": torch.uint8, "bool": torch.bool}
MAX_CLASSES = 10_000  # a Linear head wider than this is not an answer to any task of the course


class StateError(ValueError):
    """The saved state cannot be graded; the message says why. `unsure`: a person should look (odd structure).
    `flag`: the file or the objects were tampered with or oversized, so the notebook is flagged for the instructor."""

    def __init__(self, message: str, unsure: bool = False, flag: bool = False):
        super().__init__(message)
        self.unsure, self.flag = unsure, flag


def dump_source(path: str, names: tuple[str, ...]) -> str:
    """The instructor cell that saves `names` from the kernel's globals to `path` (relative to the notebook)."""
    return trigger_source("dump", path, tuple(names))


def seal_source(path: str) -> str:
    """The instructor cell, last in the notebook, that writes whether every saved state stayed as saved."""
    return trigger_source("seal", path)


def read_signed(path: Path, key: bytes) -> bytes:
    """The payload of a file the kernel's guard signed; StateError when it is missing, not a regular file,
    too large or not signed with `key` for this file name. Never blocks (a FIFO) or follows a link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise StateError("your objects were not saved after your cell: the notebook stopped before it "
                         "(the kernel died or was stopped), or your code prevented it") from None
    except OSError as err:
        raise StateError(f"the saved state was replaced by something that is not a file ({err.strerror})",
                         flag=True) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise StateError("the saved state was replaced by something that is not a regular file", flag=True)
        if info.st_size > MAX_FILE:
            raise StateError(f"the saved state is {info.st_size / 2**20:.0f} MB, far more than GlyphNet's", flag=True)
        data = os.read(fd, MAX_FILE + 1)
    finally:
        os.close(fd)
    payload = verify(key, path.name, data)
    if payload is None:
        raise StateError("the saved state is not the one the grader wrote (its signature does not match)", flag=True)
    return payload


def load_seal(path: Path | None, key: bytes) -> dict[str, str]:
    """Per saved file, "ok" or why its objects cannot be trusted; StateError when the seal itself is not there."""
    if path is None:
        raise StateError("the grader's final check of your objects did not run", flag=True)
    try:
        seal = marshal.loads(read_signed(path, key))
    except StateError as err:
        raise StateError(f"the grader's final check of your objects did not run or was tampered with ({err})",
                         flag=True) from None
    return seal if isinstance(seal, dict) else {}


def load_record(path: Path, key: bytes, seal: dict[str, str] | StateError) -> dict[str, Any]:
    """A saved state, verified and with its tensors rebuilt; StateError when it cannot be trusted."""
    if isinstance(seal, dict) and seal.get(path.name, "ok") != "ok":  # e.g. it could not save: no file to read
        raise StateError(seal[path.name], flag=True)
    payload = read_signed(path, key)
    if isinstance(seal, StateError):
        raise seal
    if path.name not in seal:
        raise StateError("the grader's final check did not see this save", flag=True)
    record = marshal.loads(payload)  # signed by the guard: our own marshal output
    model = record.get("model")
    if model is not None:
        model["state"] = {name: _tensor(name, *value) for name, value in model["state"].items()}
    return record


def _tensor(name: str, dtype: str, shape: tuple[int, ...], data: bytes) -> torch.Tensor:
    """One saved tensor, its byte count checked against its dtype and shape before anything is allocated."""
    kind = DTYPES.get(dtype)
    if kind is None or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise StateError(f"{name} has a dtype or shape the grader does not read", flag=True)
    count = 1
    for n in shape:
        count *= n
    if count * torch.empty(0, dtype=kind).element_size() != len(data):
        raise StateError(f"{name}'s bytes do not match its shape {tuple(shape)}", flag=True)
    return torch.frombuffer(bytearray(data), dtype=kind).reshape(shape) if data else torch.zeros(shape, dtype=kind)


def _head_shape(state: dict[str, torch.Tensor], in_features: int) -> int:
    """The out_features of a saved Linear head, after checking its weight and bias shapes."""
    weight, bias = state["head.weight"], state.get("head.bias")
    if weight.dim() != 2 or weight.shape[1] != in_features or not 0 < weight.shape[0] <= MAX_CLASSES:
        raise StateError(f"the head's weight has shape {tuple(weight.shape)}; a Linear head on GlyphNet's "
                         f"features has shape (classes, {in_features})", unsure=True)
    if bias is not None and tuple(bias.shape) != (weight.shape[0],):
        raise StateError(f"the head's bias has shape {tuple(bias.shape)}; it needs one value per class "
                         f"({weight.shape[0]})", unsure=True)
    return int(weight.shape[0])


def rebuild_model(record: dict[str, Any]) -> nn.Module:
    """GlyphNet with the dumped weights, buffers, flags, modes and extra plain attributes; a Linear head may be resized."""
    import ftlab

    saved = record.get("model")
    if saved is None:
        raise StateError(f"`model` is a {record['types'].get('model', 'missing')}, not a torch.nn.Module")
    state, modules = saved["state"], saved["modules"]
    model = ftlab.get_model("glyphnet", num_classes=10)
    head = modules.get("head")
    if head and head[0] == "Linear" and "head.weight" in state:
        in_features = model.head.in_features
        model.head = nn.Linear(in_features, _head_shape(state, in_features), bias="head.bias" in state)
    ours = {name: [type(m).__name__] for name, m in model.named_modules()}
    theirs = {name: kind[:1] for name, kind in modules.items()}
    if ours != theirs:
        odd = sorted(n for n in set(ours) | set(theirs) if ours.get(n) != theirs.get(n))
        raise StateError(f"the model's structure differs from GlyphNet with a Linear head (first difference: "
                         f"{odd[0]!r}); a person will check it", unsure=True)
    expected = model.state_dict()
    odd = sorted(n for n in expected.keys() & state.keys()
                 if state[n].shape != expected[n].shape or state[n].dtype.is_floating_point
                 != expected[n].dtype.is_floating_point)
    if odd:
        raise StateError(f"{odd[0]} has shape {tuple(state[odd[0]].shape)} and dtype {state[odd[0]].dtype}; "
                         f"GlyphNet's has {tuple(expected[odd[0]].shape)} and {expected[odd[0]].dtype}", unsure=True)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise StateError(f"the model's weights do not fit GlyphNet: {str(err).splitlines()[0]}", unsure=True) from None
    flags = saved["requires_grad"]
    for name, param in model.named_parameters():
        param.requires_grad_(bool(flags.get(name, True)))
    for name, module in model.named_modules():
        module.training = bool(modules[name][1])
        for key, value in modules[name][2].items():  # e.g. a `trainable = False` the checks explain
            if key not in vars(module):
                setattr(module, key, value)
    return model


def rebuild_optimizer(record: dict[str, Any], model: nn.Module) -> torch.optim.Optimizer:
    """An optimizer with the dumped param groups and hyper-parameters over the rebuilt model's tensors.

    A tensor the student's optimizer held that is not in the model (e.g. the replaced head's) becomes a
    stand-in tensor, so the checks see it as stale, as they would have on the live objects.
    """
    saved = record.get("optimizer")
    if saved is None:
        raise StateError(f"`optimizer` is a {record['types'].get('optimizer', 'missing')}, "
                         "not a torch.optim.Optimizer")
    params = dict(model.named_parameters())
    groups = [{**group["hparams"], "params": [params[n] if n in params else nn.Parameter(torch.zeros(1))
                                              for n in group["params"]]} for group in saved["groups"]]
    kind = getattr(torch.optim, (saved.get("class") or [""])[0], None)
    if isinstance(kind, type) and issubclass(kind, torch.optim.Optimizer):
        try:  # the student's class (e.g. Adam), so checks can ask for it; hyper-parameters it refuses fall back
            return kind(groups)
        except (ValueError, TypeError, RuntimeError, KeyError):
            pass
    try:
        return torch.optim.Optimizer(groups, {})
    except (ValueError, TypeError) as err:
        raise StateError(f"the optimizer's groups cannot be rebuilt: {err}", unsure=True) from None
