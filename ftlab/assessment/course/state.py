"""A coding task's raw state, saved by an instructor cell in the student's kernel and rebuilt in the grader's process.

The dump holds only tensors and plain values (state_dict with BatchNorm buffers, requires_grad flags, module
types, training modes and plain attributes, optimizer param groups and hyper-parameters) and is read with
`torch.load(weights_only=True)`, so a submission can hand the grader data but never code. Forging a state
that passes is no easier than doing the task.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

MAX_BYTES = 64 * 2**20  # GlyphNet's state is about 1 MB; anything far larger is not a submission's model

# Runs in the student's kernel after their answer cell. Self-contained, and it reads the modules' own dicts
# (_modules, _parameters, _buffers, training) rather than methods a submission could override on its objects.
DUMP = '''\
def _ftlab_dump(path, names, scope):
    import torch
    plain = (bool, int, float, str, type(None))
    record = {{"missing": [n for n in names if scope.get(n) is None], "types": {{}}}}
    for name in names:
        record["types"][name] = type(scope.get(name)).__name__
    model, optimizer, ids = scope.get("model"), scope.get("optimizer"), {{}}
    if isinstance(model, torch.nn.Module):
        state, flags, modules, todo = {{}}, {{}}, {{}}, [("", model)]
        while todo:
            prefix, module = todo.pop(0)
            own = object.__getattribute__(module, "__dict__")
            extra = {{k: v for k, v in own.items() if not k.startswith("_") and isinstance(v, plain)}}
            modules[prefix] = [type(module).__name__, bool(own["training"]), extra]
            dot = prefix + "." if prefix else ""
            for key, param in own["_parameters"].items():
                if param is not None:
                    ids.setdefault(id(param), dot + key)
                    state[dot + key], flags[dot + key] = param.detach().cpu().clone(), bool(param.requires_grad)
            for key, buffer in own["_buffers"].items():
                if buffer is not None and key not in own["_non_persistent_buffers_set"]:
                    state[dot + key] = buffer.detach().cpu().clone()
            todo += [(dot + key, child) for key, child in own["_modules"].items() if child is not None]
        record["model"] = {{"state": state, "requires_grad": flags, "modules": modules}}
    if "optimizer" in names and isinstance(optimizer, torch.optim.Optimizer):
        groups = object.__getattribute__(optimizer, "__dict__")["param_groups"]
        record["optimizer"] = {{"type": type(optimizer).__name__, "groups": [
            {{"params": [ids.get(id(p)) for p in group["params"]],
              "hparams": {{k: (tuple(v) if isinstance(v, (tuple, list)) else v) for k, v in group.items()
                          if k != "params" and (isinstance(v, plain) or isinstance(v, (tuple, list))
                          and all(isinstance(x, plain) for x in v))}}}}
            for group in groups]}}
    torch.save(record, path)


_ftlab_dump({path!r}, {names!r}, globals())
del _ftlab_dump'''


class StateError(ValueError):
    """The dumped state cannot be graded; the message says why. `unsure`: a person should look (odd structure)."""

    def __init__(self, message: str, unsure: bool = False):
        super().__init__(message)
        self.unsure = unsure


def dump_source(path: str, names: tuple[str, ...]) -> str:
    """The instructor cell that saves `names` from the kernel's globals to `path` (relative to the notebook)."""
    return DUMP.format(path=path, names=list(names))


def load_record(path: Path) -> dict[str, Any]:
    """Read a dump as data only; StateError when it is missing, too large or not a dump."""
    if not path.exists():
        raise StateError("your objects were not saved after your cell: the notebook stopped before it "
                         "(the kernel died or was stopped), or your code prevented it")
    if path.stat().st_size > MAX_BYTES:
        raise StateError(f"the saved state is {path.stat().st_size / 2**20:.0f} MB, far more than GlyphNet's")
    try:
        record = torch.load(path, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the same verdict
        raise StateError(f"the saved state is unreadable ({type(err).__name__})") from None
    if not isinstance(record, dict) or not isinstance(record.get("missing"), list):
        raise StateError("the saved state is not the grader's")
    return record


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
        out_features, in_features = state["head.weight"].shape
        model.head = nn.Linear(in_features, out_features, bias="head.bias" in state)
    ours = {name: [type(m).__name__] for name, m in model.named_modules()}
    theirs = {name: kind[:1] for name, kind in modules.items()}
    if ours != theirs:
        odd = sorted(n for n in set(ours) | set(theirs) if ours.get(n) != theirs.get(n))
        raise StateError(f"the model's structure differs from GlyphNet with a Linear head (first difference: "
                         f"{odd[0]!r}); a person will check it", unsure=True)
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
    try:
        return torch.optim.Optimizer(groups, {})
    except (ValueError, TypeError) as err:
        raise StateError(f"the optimizer's groups cannot be rebuilt: {err}", unsure=True) from None
