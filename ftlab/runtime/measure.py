"""Measurements of a model: its parameter counts, how far its weights moved, and its loss and accuracy on a set.

Each is defined once here, so the trainer, the dashboard, the lessons, the exercises and the course grader
report the same numbers for the same model.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ftlab.runtime.adapters import reference_name, weights
from ftlab.runtime.device import model_device
from ftlab.runtime.freezing import eval_mode, group_names


def count_parameters(params: nn.Module | Iterable[nn.Parameter]) -> tuple[int, int]:
    """(total, trainable) numbers of parameter values (not tensors) of a module or of some of its parameters."""
    params = list(params.parameters() if isinstance(params, nn.Module) else params)
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


class Drift:
    """Relative weight drift per layer group, ||w - w0|| / ||w0||, from reference weights flattened once, so
    measuring again while a run trains costs a few large operations per group (one device sync in all)."""

    @torch.no_grad()
    def __init__(self, model: nn.Module, reference: dict[str, torch.Tensor] | None = None):
        """`reference` maps parameter names to their earlier values (e.g. ftlab.snapshot(model)); None: now."""
        self.model = model
        self.flat: dict[str, torch.Tensor] = {}  # group -> its reference weights as one float vector
        self.reference: dict[str, torch.Tensor] = {}  # parameter name -> a view into that vector
        for group in group_names(model):
            named = list(weights(model, group))  # a LoRA layer's weight with its update: what the model computes with
            missing = [n for n, _ in named if reference is not None and reference_name(n, reference) is None]
            if missing:
                raise ValueError(f"the reference weights lack {len(missing)} parameters of group {group!r} (first: "
                                 f"{missing[0]}); take them with ftlab.snapshot(model) before training")
            source = [(n, p, p if reference is None else reference[reference_name(n, reference)]) for n, p in named]
            wrong = [(n, p, r) for n, p, r in source if r.shape != p.shape]
            if wrong:
                n, p, r = wrong[0]
                raise ValueError(f"the reference weight {n} has shape {tuple(r.shape)} but the model's has "
                                 f"{tuple(p.shape)}: a reference of another model, or taken before a new head")
            device = named[0][1].device if named else "cpu"
            self.flat[group] = torch.cat([torch.zeros(0, device=device)] +
                                         [r.detach().reshape(-1).float().to(p.device) for _, p, r in source])
            for (n, p, _), part in zip(source, self.flat[group].split([p.numel() for _, p in named])):
                self.reference[n] = part.view(p.shape)
        self._norms = torch.stack([f.norm() for f in self.flat.values()]).clamp_min(1e-12)

    @torch.no_grad()
    def __call__(self) -> dict[str, float]:
        """Per group, how far the weights are now from the reference (0 for a group with no parameters)."""
        moved = [(torch.cat([flat[:0]] + [p.reshape(-1) for _, p in weights(self.model, g)]).float()
                  - flat).norm() for g, flat in self.flat.items()]
        return dict(zip(self.flat, (torch.stack(moved) / self._norms).tolist()))


@torch.no_grad()
def changes(model: nn.Module, before: dict[str, torch.Tensor]) -> dict[str, float]:
    """Per parameter and buffer in `before` (e.g. ftlab.snapshot(model), taken on any device) that the model still
    has with the same shape: the largest absolute change of any of its values since (one device sync)."""
    state = model.state_dict()
    names = [k for k, v in before.items() if k in state and state[k].shape == v.shape and v.numel()]
    if not names:
        return {}
    moved = [(state[k].float() - before[k].to(state[k].device).float()).abs().amax() for k in names]
    return dict(zip(names, torch.stack(moved).tolist()))


def drift(model: nn.Module, before: dict[str, torch.Tensor]) -> dict[str, float]:
    """Per layer group: how far the weights moved from `before` (parameter name -> tensor), as ||w - w0|| / ||w0||."""
    return Drift(model, before)()


@torch.no_grad()
def score(logits_of: Callable[[torch.Tensor], torch.Tensor], labels: torch.Tensor, batch: int) -> dict[str, float]:
    """Mean cross-entropy and accuracy over a set, `batch` examples at a time; `logits_of(indices)` gives the
    logits of those examples (the caller decides the forward pass: preprocessing, autocast, cached features)."""
    loss = correct = 0.0
    for i in range(0, len(labels), batch):
        idx = torch.arange(i, min(i + batch, len(labels)), device=labels.device)
        logits = logits_of(idx).float()
        loss += F.cross_entropy(logits, labels[idx], reduction="sum").item()
        correct += (logits.argmax(1) == labels[idx]).sum().item()
    return {"loss": loss / len(labels), "acc": correct / len(labels)}


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 256,
             preprocess: Callable[[torch.Tensor], torch.Tensor] | None = None) -> float:
    """Share of `images` the model labels right, in eval mode with `preprocess` (default: the model's own,
    model.ftlab.preprocess); every module's mode is put back exactly as it was afterwards."""
    if len(labels) == 0 or len(images) != len(labels):
        raise ValueError(f"accuracy needs as many labels as images, at least one: got {len(images)} images and "
                         f"{len(labels)} labels")
    preprocess = preprocess or model.ftlab.preprocess
    device = model_device(model)  # images and labels may be elsewhere (the CPU, with the model on a GPU)
    labels = labels.to(device)
    with eval_mode(model, exact=True):
        return score(lambda idx: model(preprocess(images[idx.to(images.device)].to(device))), labels, batch)["acc"]
