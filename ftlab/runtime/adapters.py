"""Training few parameters: LoRA on the convolutions (Hugging Face `peft`) and BitFit (biases only), on a model
from get_model, and the weights such a model really computes with (frozen weight + low-rank update).

`lora` injects peft's LoRA layers into the model in place, so its layer groups, head and `model.ftlab` stay as
they were and the trainer, freezing, drift and the inspector see the adapters inside their groups.
"""
from __future__ import annotations

import copy
import sys
from collections.abc import Iterator

import torch
from torch import nn

from ftlab.runtime.freezing import PEFT_WRAPPER, check_groups, freeze, group_names, group_parameters, set_bn_mode
from ftlab.runtime.models import find_head, info

ADAPTER_MARK = ".lora_"  # peft names every LoRA parameter <layer>.lora_A.<adapter>.weight (or lora_B, ...)


def is_adapter(name: str) -> bool:
    """Whether a parameter name is a LoRA adapter's (not a pretrained weight or the head)."""
    return ADAPTER_MARK in f".{name}"


def lora_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's peft LoRA layers as (name, layer); none when peft was never imported."""
    peft = sys.modules.get("peft")
    if peft is None:
        return []
    from peft.tuners.lora import LoraLayer

    return [(n, m) for n, m in model.named_modules() if isinstance(m, LoraLayer)]


def lora(model: nn.Module, rank: int = 4, alpha: float | None = None, groups: tuple[str, ...] | None = None) -> nn.Module:
    """Add a rank-`rank` LoRA update (scaled by alpha / rank, alpha defaults to rank) to every Conv2d of the
    named groups (default: all but the head), in place; only the adapters and the head then train."""
    from peft import LoraConfig, inject_adapter_in_model

    if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
        raise ValueError(f"rank must be a positive int, got {rank!r}")
    if lora_layers(model):
        raise ValueError("this model already has LoRA layers; start again from ftlab.get_model(...)")
    head = info(model).head
    chosen = check_groups(model, groups or [g for g in group_names(model) if g != "head"])
    prefixes = tuple(p for g in chosen for p in info(model).groups[g])
    targets = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d)
               and any(n == p or n.startswith(p + ".") for p in prefixes)]
    if not targets:
        raise ValueError(f"groups {', '.join(chosen)} hold no Conv2d layer to adapt; groups with convolutions: "
                         f"{', '.join(g for g in group_names(model) if g != 'head')}")
    config = LoraConfig(r=rank, lora_alpha=alpha or rank, target_modules=targets, lora_dropout=0.0)
    model = inject_adapter_in_model(config, model)  # freezes everything but the adapters
    getattr(model, head).requires_grad_(True)
    set_bn_mode(model)
    return model


def bitfit(model: nn.Module) -> nn.Module:
    """BitFit: freeze every weight, train every bias (BatchNorm's shift included) and the head, in place."""
    freeze(model)
    for name, p in model.named_parameters():
        if name.rsplit(".", 1)[-1] == "bias":
            p.requires_grad_(True)
    find_head(model)[1].requires_grad_(True)
    set_bn_mode(model)
    return model


def _delta(layer: nn.Module) -> torch.Tensor | None:
    """The update a LoRA layer adds to its frozen weight now (None once merged into it)."""
    if layer.merged or layer.disable_adapters:
        return None
    deltas = [layer.get_delta_weight(a) for a in layer.active_adapters if a in layer.lora_A]
    return sum(deltas) if deltas else None


def weights(model: nn.Module, group: str) -> Iterator[tuple[str, torch.Tensor]]:
    """A group's weights as the model computes with them: every parameter but the adapters', where a LoRA layer's
    frozen weight comes with its update added (for a model without adapters: its parameters)."""
    updated = {}
    for _, layer in lora_layers(model):
        delta = _delta(layer)
        if delta is not None:
            updated[id(layer.get_base_layer().weight)] = delta
    for name, p in group_parameters(model, group):
        if not is_adapter(name):
            yield name, (p + updated[id(p)].to(p.dtype) if id(p) in updated else p)


def reference_name(name: str, reference: dict) -> str | None:
    """The key of `reference` (e.g. ftlab.snapshot taken before LoRA was added) that holds parameter `name`."""
    plain = name.removeprefix(PEFT_WRAPPER).replace(".base_layer.", ".")
    return next((k for k in (name, plain, PEFT_WRAPPER + plain) if k in reference), None)


@torch.no_grad()
def merge_lora(model: nn.Module) -> nn.Module:
    """A copy of a LoRA model with each update merged into its weight and the adapters removed: the original
    architecture again, computing the same outputs with no extra cost."""
    layers = lora_layers(model)
    if not layers:
        raise ValueError("this model has no LoRA layers to merge; add them with ftlab.runtime.adapters.lora")
    merged = copy.deepcopy(model)
    for name, layer in lora_layers(merged):
        layer.merge()
        parent, _, attr = name.rpartition(".")
        setattr(merged.get_submodule(parent), attr, layer.get_base_layer())
    return merged
