"""ftlab: learn, teach and revise fine-tuning of computer-vision models with real experiments.

Every public name loads on first use, so `ftlab --help`, `ftlab quiz` and `ftlab revise` never import torch.
"""
from __future__ import annotations

import importlib

_HOMES = {
    "ftlab.runtime.adapters": ("bitfit", "lora", "merge_lora"),
    "ftlab.runtime.data": ("ImageSet", "Splits", "load_image_folder", "load_target", "load_torchvision"),
    "ftlab.runtime.freezing": ("freeze", "freeze_below", "freeze_matching", "group_names", "trainable_groups",
                               "unfreeze"),
    "ftlab.runtime.measure": ("accuracy", "changes", "count_parameters", "drift"),
    "ftlab.runtime.history": ("History",),
    "ftlab.runtime.lr_find": ("lr_find",),
    "ftlab.runtime.inspector": ("inspect", "snapshot", "summary"),
    "ftlab.runtime.models": ("WeightsUnavailable", "get_model", "list_models"),
    "ftlab.runtime.train": ("TrainConfig", "Trainer"),
    "ftlab.teaching.dashboard": ("Dashboard", "DashboardConfig"),
    "ftlab.assessment.selfquiz": ("quiz", "revise", "mastery"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
__all__ = sorted(_HOME_OF)


def __getattr__(name: str):
    """Import the module that defines `name` the first time it is asked for, then keep it here."""
    if name not in _HOME_OF:
        raise AttributeError(f"module 'ftlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
