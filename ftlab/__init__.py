"""ftlab: learn, teach and revise fine-tuning of computer-vision models with real experiments."""
from .data import ImageSet, Splits, load_image_folder, load_target, load_torchvision
from .freeze import (count_parameters, freeze, freeze_below, freeze_matching, group_names, trainable_groups,
                     unfreeze)
from .history import History
from .inspector import inspect, snapshot, summary
from .models import WeightsUnavailable, get_model, list_models
from .train import TrainConfig, Trainer

# Widgets and the learner's store load on first use, so `import ftlab` in a script or test stays light.
_LAZY = {"Dashboard": "ftlab.dashboard", "DashboardConfig": "ftlab.dashboard", "quiz": "ftlab.selfquiz",
         "revise": "ftlab.selfquiz", "mastery": "ftlab.selfquiz"}


def __getattr__(name: str):
    """`ftlab.Dashboard`, `ftlab.quiz`, `ftlab.revise` and `ftlab.mastery`, imported when first asked for."""
    if name not in _LAZY:
        raise AttributeError(f"module 'ftlab' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_LAZY[name]), name)


__all__ = [
    "Dashboard", "DashboardConfig", "History", "ImageSet", "Splits", "TrainConfig", "Trainer", "WeightsUnavailable",
    "count_parameters", "freeze", "freeze_below", "freeze_matching", "get_model", "group_names", "inspect",
    "list_models", "load_image_folder", "load_target", "load_torchvision", "mastery", "quiz", "revise", "snapshot",
    "summary", "trainable_groups", "unfreeze",
]
