"""What is really frozen: a per-group summary and a per-layer inspector that flags the traps.

The traps it catches: a "frozen" parameter that still changed (held by an optimizer that
applies weight decay or momentum to it), BatchNorm running statistics drifting in a frozen
body, `module.requires_grad = False` (a plain attribute that freezes nothing), and trainable
parameters the optimizer does not hold (built before unfreezing). `optimizer_fit` is the one check that an
optimizer holds exactly the trainable parameters, with the head at a larger learning rate than the body.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ftlab.runtime.adapters import is_adapter
from ftlab.runtime.freezing import _BN, group_names, group_of, group_parameters
from ftlab.runtime.measure import count_parameters
from ftlab.runtime.models import find_head
from ftlab.runtime.table import Table


def summary(model: nn.Module) -> Table:
    """Per group: parameters, trainable parameters, and frozen / trainable / partly / adapters (only LoRA's train)."""
    rows = []
    for group in group_names(model):
        named = list(group_parameters(model, group))
        total, trainable = count_parameters(p for _, p in named)
        adapters = all(is_adapter(n) for n, p in named if p.requires_grad)
        state = ("trainable" if trainable == total else "frozen" if trainable == 0 else "adapters" if adapters
                 else "partly")
        rows.append([group, total, trainable, state])
    total, trainable = count_parameters(model)
    rows.append(["total", total, trainable, f"{100 * trainable / max(total, 1):.1f}% trainable"])
    return Table(["group", "parameters", "trainable", "state"], rows, title=f"{model.ftlab.name} layer groups")


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of every parameter and buffer, to compare against after training steps (on the model's device now;
    ftlab's comparisons, drift, changes and inspect, work after the model moved to another one)."""
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


@dataclass
class OptimizerFit:
    """How the tensors an optimizer holds compare with a model's trainable parameters (names are the model's)."""

    trainable: list[str]  # the model's trainable parameters
    stale: int  # tensors held that are not in the model (e.g. a replaced head's)
    frozen: list[str]  # parameters held although frozen
    missing: list[str]  # trainable parameters not held, which would never update
    head: str | None  # the head's attribute (models.find_head), None when the model has none
    head_lrs: list[float | None]  # the learning rate of each head parameter held (None: its group has no number)
    head_unheld: int  # head parameters the optimizer does not hold
    body_lrs: list[float | None]  # the learning rate of each trainable body parameter held

    @property
    def exact(self) -> bool:
        """The optimizer holds exactly the trainable parameters, and there is at least one."""
        return bool(self.trainable) and not (self.stale or self.frozen or self.missing)

    @property
    def numeric_lrs(self) -> bool:
        """Every held head and body parameter's group has a number for its learning rate."""
        return all(isinstance(lr, (int, float)) and not isinstance(lr, bool) for lr in self.head_lrs + self.body_lrs)

    @property
    def discriminative(self) -> bool:
        """Every head parameter held, some trainable body parameter held, and the body's largest learning rate
        below the head's smallest."""
        return (self.head is not None and bool(self.head_lrs) and not self.head_unheld and bool(self.body_lrs)
                and self.numeric_lrs and max(self.body_lrs) < min(self.head_lrs))


def _number(lr):
    """A learning rate as a float when it is one (torch also takes a one-element tensor), else as given."""
    return float(lr) if torch.is_tensor(lr) and lr.numel() == 1 else lr


def optimizer_fit(model: nn.Module, optimizer: torch.optim.Optimizer) -> OptimizerFit:
    """Compare `optimizer`'s parameter groups with `model`'s trainable parameters and its head (see OptimizerFit)."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    lr_of = {id(p): _number(group.get("lr")) for group in optimizer.param_groups for p in group["params"]}
    names = {id(p): n for n, p in model.named_parameters()}
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    try:
        head, module = find_head(model)
        head_ids = {id(p) for p in module.parameters()}
    except ValueError:
        head, head_ids = None, set()
    return OptimizerFit(
        trainable=trainable, stale=len(set(lr_of) - set(names)),
        frozen=[n for n, p in model.named_parameters() if not p.requires_grad and id(p) in lr_of],
        missing=[n for n, p in model.named_parameters() if p.requires_grad and id(p) not in lr_of],
        head=head, head_lrs=[lr_of[i] for i in head_ids if i in lr_of], head_unheld=len(head_ids - set(lr_of)),
        body_lrs=[lr_of[id(p)] for p in model.parameters()
                  if p.requires_grad and id(p) not in head_ids and id(p) in lr_of])
