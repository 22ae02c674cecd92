"""ftlab: learn, teach and revise fine-tuning of computer-vision models with real experiments."""
from .data import ImageSet, Splits, load_image_folder, load_target, load_torchvision
from .freeze import (count_parameters, freeze, freeze_below, freeze_matching, group_names, trainable_groups,
                     unfreeze)
from .history import History
from .inspector import inspect, snapshot, summary
from .models import WeightsUnavailable, get_model, list_models
from .train import TrainConfig, Trainer

__all__ = [
    "History", "ImageSet", "Splits", "TrainConfig", "Trainer", "WeightsUnavailable", "count_parameters",
    "freeze", "freeze_below", "freeze_matching", "get_model", "group_names", "inspect", "list_models",
    "load_image_folder", "load_target", "load_torchvision", "snapshot", "summary", "trainable_groups", "unfreeze",
]
