"""An optimizer with one param group per layer group, holding exactly that group's trainable parameters.

Frozen parameters are never in it (so weight decay and momentum cannot move them), each group carries its
layer group's name, and `sync` re-matches it to `requires_grad` after a freeze or an unfreeze without
rebuilding it, so the state of the parameters that keep training is kept.
"""
from __future__ import annotations

import torch
from torch import nn

from ftlab.runtime.freezing import group_names, group_parameters

OPTIMIZERS = ("sgd", "adamw")


def _trainable(model: nn.Module, group: str) -> list[nn.Parameter]:
    return [p for _, p in group_parameters(model, group) if p.requires_grad]


def build(model: nn.Module, name: str, lr: float, lrs: dict[str, float], momentum: float = 0.9,
          weight_decay: float = 0.0) -> torch.optim.Optimizer:
    """SGD with momentum ("sgd") or AdamW ("adamw") over the trainable parameters, one group per layer group
    at its learning rate in `lrs` (layer group -> lr); `lr` is the base rate, torch's default."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(map(repr, OPTIMIZERS))}")
    groups = [{"params": _trainable(model, g), "name": g, "lr": lrs[g]} for g in group_names(model)]
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)
    return torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)


def sync(optimizer: torch.optim.Optimizer, model: nn.Module) -> None:
    """Make each param group hold exactly its layer group's trainable parameters now; a parameter dropped
    (frozen since) loses its state, one added (unfrozen) starts without any."""
    for pg in optimizer.param_groups:
        params = _trainable(model, pg["name"])
        keep = {id(p) for p in params}
        for p in pg["params"]:
            if id(p) not in keep:
                optimizer.state.pop(p, None)
        pg["params"] = params


def set_lrs(optimizer: torch.optim.Optimizer, lrs: dict[str, float], factor: float = 1.0) -> None:
    """Copy each layer group's learning rate, times `factor` (a schedule's), into its param group."""
    for pg in optimizer.param_groups:
        pg["lr"] = lrs[pg["name"]] * factor
