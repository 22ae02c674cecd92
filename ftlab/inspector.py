"""What is really frozen: a per-group summary and a per-layer inspector that flags the traps.

The traps it catches: a "frozen" parameter that still changed (held by an optimizer that
applies weight decay or momentum to it), BatchNorm running statistics drifting in a frozen
body, `module.requires_grad = False` (a plain attribute that freezes nothing), and trainable
parameters the optimizer does not hold (built before unfreezing).
"""
from __future__ import annotations

import torch
from torch import nn

from .freezing import _BN, count_parameters, group_names, group_of, group_parameters
from .table import Table


def summary(model: nn.Module) -> Table:
    """Per group: parameters, trainable parameters, and frozen / trainable / partly."""
    rows = []
    for group in group_names(model):
        params = [p for _, p in group_parameters(model, group)]
        total = sum(p.numel() for p in params)
        trainable = sum(p.numel() for p in params if p.requires_grad)
        state = "trainable" if trainable == total else "frozen" if trainable == 0 else "partly"
        rows.append([group, total, trainable, state])
    total, trainable = count_parameters(model)
    rows.append(["total", total, trainable, f"{100 * trainable / max(total, 1):.1f}% trainable"])
    return Table(["group", "parameters", "trainable", "state"], rows, title=f"{model.ftlab.name} layer groups")


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of every parameter and buffer, to compare against after training steps."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def inspect(model: nn.Module, optimizer: torch.optim.Optimizer | None = None,
            before: dict[str, torch.Tensor] | None = None) -> Table:
    """Per layer: trainable?, held by the optimizer (with its LR and weight decay), BatchNorm
    mode, whether it changed since `before` (a snapshot), and a flag for each trap found."""
    held = {}
    if optimizer is not None:
        for pg in optimizer.param_groups:
            for p in pg["params"]:
                held[p] = pg
    state = model.state_dict()
    plain = [name for name, m in model.named_modules() if "requires_grad" in m.__dict__]
    rows = []
    for name, module in model.named_modules():
        params = dict(module.named_parameters(recurse=False))
        if not params:
            continue
        full = {k: f"{name}.{k}" if name else k for k in list(params) + [b for b, _ in module.named_buffers(recurse=False)]}
        trainable = [p.requires_grad for p in params.values()]
        groups = [held.get(p) for p in params.values()]
        pg = next((g for g in groups if g is not None), None)
        changed = before is not None and any(
            not torch.equal(before[k].to(state[k].device), state[k]) for k in full.values() if k in before)
        flags = []
        owner = next((m for m in plain if m == name or not m or name.startswith(m + ".")), None)
        if owner is not None:
            flags.append(f"{owner or 'model'}.requires_grad is a plain attribute and freezes nothing: "
                         "use requires_grad_(False)")
        if before is not None and not any(trainable):
            known = [(full[k], p) for k, p in params.items() if full[k] in before]  # a new layer has no "before"
            if any(not torch.equal(before[k].to(p.device), p.detach()) for k, p in known):
                flags.append("frozen weights changed")
            stats = [full[b] for b in ("running_mean", "running_var") if b in full and full[b] in before]
            if any(not torch.equal(before[k].to(state[k].device), state[k]) for k in stats):
                flags.append("BatchNorm statistics drifted while frozen")
        if optimizer is not None:
            if any(t and g is None for t, g in zip(trainable, groups)):
                flags.append("trainable but not in the optimizer")
            if any(not t and g is not None and g.get("weight_decay", 0) and p.grad is not None
                   for t, g, p in zip(trainable, groups, params.values())):
                flags.append("frozen but held with a gradient and weight decay: it will still move")
        rows.append([
            name or "(model)", group_of(model, next(iter(full.values()))),
            "all" if all(trainable) else "none" if not any(trainable) else "some",
            "-" if optimizer is None else ("yes" if all(g is not None for g in groups) else "no" if pg is None else "some"),
            "-" if pg is None else pg["lr"], "-" if pg is None else pg.get("weight_decay", 0),
            ("train" if module.training else "eval") if isinstance(module, _BN) else "",
            "-" if before is None else ("yes" if changed else "no"),
            "; ".join(flags),
        ])
    return Table(["layer", "group", "trainable", "in optimizer", "lr", "weight decay", "BN mode", "changed", "flags"],
                 rows, title="per-layer inspection")
