"""Freezing and unfreezing by layer group, by parameter-name pattern, or below a group.

Frozen means `requires_grad=False` on the parameters themselves (autograd then skips the
backward pass below the first trainable group) and BatchNorm layers whose parameters are all
frozen run in eval mode, so their running statistics stay the pretrained ones.
"""
from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Iterator

from torch import nn

from ftlab.runtime.models import info

_BN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
PEFT_WRAPPER = "base_model.model."  # peft's get_peft_model wraps a model: its names start so (ftlab.runtime.adapters)


def _in_group(name: str, prefixes: tuple[str, ...]) -> bool:
    name = name.removeprefix(PEFT_WRAPPER)
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def group_of(model: nn.Module, param_name: str) -> str:
    """The layer group a parameter (or module) name belongs to."""
    for group, prefixes in info(model).groups.items():
        if _in_group(param_name, prefixes):
            return group
    raise KeyError(f"{param_name!r} belongs to no layer group of {info(model).name}")


def group_names(model: nn.Module) -> list[str]:
    return list(info(model).groups)


def check_groups(model: nn.Module, names) -> list[str]:
    """The names, validated: an unknown one raises ValueError listing the valid groups."""
    valid = group_names(model)
    names = list(names)
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"unknown layer group {', '.join(map(repr, unknown))} for {info(model).name}; "
                         f"valid groups (input side first): {', '.join(valid)}")
    return names


def group_parameters(model: nn.Module, group: str) -> Iterator[tuple[str, nn.Parameter]]:
    prefixes = info(model).groups[group]
    return ((n, p) for n, p in model.named_parameters() if _in_group(n, prefixes))


def _set(model: nn.Module, groups, trainable: bool, train_bn: bool = False) -> None:
    modules = dict(model.named_modules())
    for group in check_groups(model, groups or group_names(model)):
        for name, p in group_parameters(model, group):
            owner = modules[name.rpartition(".")[0]]
            keep = trainable or (train_bn and isinstance(owner, _BN))
            p.requires_grad_(keep)
            if not keep:
                p.grad = None
    set_bn_mode(model)


def freeze(model: nn.Module, *groups: str, train_bn: bool = False) -> None:
    """Freeze the named groups (all of them when none is named); `train_bn` keeps BatchNorm trainable."""
    _set(model, groups, False, train_bn)


def unfreeze(model: nn.Module, *groups: str) -> None:
    """Make the named groups (all when none is named) trainable again."""
    _set(model, groups, True)


def freeze_below(model: nn.Module, group: str, train_bn: bool = False) -> None:
    """Freeze every group before `group` (input side); `group` and everything after it train."""
    names = group_names(model)
    k = names.index(check_groups(model, [group])[0])
    if k:
        freeze(model, *names[:k], train_bn=train_bn)
    unfreeze(model, *names[k:])


def freeze_matching(model: nn.Module, pattern: str, frozen: bool = True) -> list[str]:
    """Freeze (or unfreeze) parameters whose names match a glob pattern; returns their names."""
    hits = [(n, p) for n, p in model.named_parameters() if fnmatch.fnmatchcase(n, pattern)]
    if not hits:
        some = [n for n, _ in model.named_parameters()][:8]
        raise ValueError(f"no parameter name matches {pattern!r}; names look like: {', '.join(some)}, ...")
    for _, p in hits:
        p.requires_grad_(not frozen)
        if frozen:
            p.grad = None
    set_bn_mode(model)
    return [n for n, _ in hits]


def set_bn_mode(model: nn.Module) -> None:
    """BatchNorm layers with every parameter frozen go to eval mode (running stats kept);
    the others follow the model's own train/eval mode."""
    for module in model.modules():
        if isinstance(module, _BN):
            params = list(module.parameters())
            frozen = bool(params) and not any(p.requires_grad for p in params)
            module.train(model.training and not frozen)


def set_mode(model: nn.Module, training: bool = True) -> nn.Module:
    """Put the model in train (or eval) mode as the freezing policy says: every module follows `training`,
    except fully frozen BatchNorm layers, which stay in eval. The one way ftlab switches modes."""
    model.train(training)
    set_bn_mode(model)
    return model


@contextlib.contextmanager
def eval_mode(model: nn.Module, exact: bool = False) -> Iterator[nn.Module]:
    """Every module in eval mode for the block; afterwards the model's mode as the freezing policy says.
    `exact=True` puts each module back exactly as it was instead (for checks that inspect a student's modes)."""
    was, modes = model.training, [(m, m.training) for m in model.modules()] if exact else []
    model.eval()
    try:
        yield model
    finally:
        if exact:
            for module, mode in modes:
                module.training = mode
        else:
            set_mode(model, was)


def trainable_groups(model: nn.Module) -> list[str]:
    """Groups with at least one trainable parameter, input side first."""
    return [g for g in group_names(model) if any(p.requires_grad for _, p in group_parameters(model, g))]

