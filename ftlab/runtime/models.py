"""Model registry: a pretrained backbone with a new head and named layer groups, in one call.

`get_model("resnet18", num_classes=5)` returns the torchvision module itself, with its
ImageNet weights loaded through torchvision's Weights API, the classifier replaced, and a
`model.ftlab` record of its layer groups (stem, stage1..stage4, head) so that "freeze below
stage3" means the same thing for every family. "glyphnet" is the offline default: its
weights ship inside the package (see ftlab.pretrain for the recipe).
"""
from __future__ import annotations

import os
import socket
import urllib.error
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
import torchvision
from torch import nn

from ftlab.offline import glyphnet
from ftlab.runtime.preprocess import Preprocess



class WeightsUnavailable(RuntimeError):
    """Pretrained weights are neither cached locally nor downloadable (e.g. offline)."""


@dataclass
class ModelInfo:
    """What ftlab knows about a model: attached as `model.ftlab` (plain data, not a submodule)."""

    name: str
    groups: dict[str, tuple[str, ...]]  # group -> parameter-name prefixes, input side first
    head: str  # attribute holding the classifier head
    preprocess: Preprocess
    weights: str | None  # weights entry loaded, None for random initialisation
    meta: dict = field(default_factory=dict)


def _blocks(prefix: str, indices) -> tuple[str, ...]:
    return tuple(f"{prefix}.{i}" for i in indices)


def _resnet_groups():
    return {"stem": ("conv1", "bn1"), "stage1": ("layer1",), "stage2": ("layer2",),
            "stage3": ("layer3",), "stage4": ("layer4",), "head": ("fc",)}


def _feature_groups(stem, s1, s2, s3, s4, head="classifier"):
    return {"stem": _blocks("features", stem), "stage1": _blocks("features", s1),
            "stage2": _blocks("features", s2), "stage3": _blocks("features", s3),
            "stage4": _blocks("features", s4), "head": (head,)}


def _vit_groups():
    layers = [f"encoder.layers.encoder_layer_{i}" for i in range(12)]
    return {"stem": ("conv_proj", "class_token", "encoder.pos_embedding"),
            "stage1": tuple(layers[0:3]), "stage2": tuple(layers[3:6]), "stage3": tuple(layers[6:9]),
            "stage4": (*layers[9:12], "encoder.ln"), "head": ("heads",)}


# family -> layer groups; the "head" group is the one attribute that holds the classifier head
FAMILIES = {
    "resnet18": _resnet_groups(),
    "resnet34": _resnet_groups(),
    "resnet50": _resnet_groups(),
    "mobilenet_v3_small": _feature_groups([0], [1], [2, 3], range(4, 9), range(9, 13)),
    "mobilenet_v3_large": _feature_groups([0], [1, 2, 3], [4, 5, 6], range(7, 13), range(13, 17)),
    "efficientnet_b0": _feature_groups([0], [1, 2], [3], [4, 5], [6, 7, 8]),
    "convnext_tiny": _feature_groups([0], [1], [2, 3], [4, 5], [6, 7]),
    "vit_b_16": _vit_groups(),
    "glyphnet": {g: (g,) for g in ("stem", "stage1", "stage2", "stage3", "stage4", "head")},
}


HEAD_NAMES = tuple(dict.fromkeys(groups["head"][0] for groups in FAMILIES.values()))  # the families' head attributes


def find_head(model: nn.Module) -> tuple[str, nn.Module]:
    """The classifier head as (attribute, module): model.ftlab.head if present, else the first of HEAD_NAMES the
    model holds as a module, else the last Linear anywhere (a plain nn.Sequential: its index)."""
    for name in (getattr(getattr(model, "ftlab", None), "head", None), *HEAD_NAMES):
        if isinstance(name, str) and isinstance(getattr(model, name, None), nn.Module):
            return name, getattr(model, name)
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"this model has no head: no attribute {', '.join(HEAD_NAMES)} holds a module and it has "
                         f"no Linear layer")
    return linears[-1]


def last_linear(module: nn.Module) -> nn.Linear | None:
    """The last nn.Linear inside a module (the module itself if it is one): the layer whose outputs are the classes."""
    found = [m for m in module.modules() if isinstance(m, nn.Linear)]
    return found[-1] if found else None


def list_models() -> list[str]:
    return list(FAMILIES)


def _replace_head(model: nn.Module, head_attr: str, num_classes: int) -> None:
    """Swap the last Linear of the head for a fresh one with `num_classes` outputs."""
    head, last = getattr(model, head_attr), last_linear(getattr(model, head_attr))
    if last is head:
        setattr(model, head_attr, nn.Linear(head.in_features, num_classes))
        return
    name = next(n for n, m in head.named_modules() if m is last)
    parent, _, attr = name.rpartition(".")
    setattr(head.get_submodule(parent), attr, nn.Linear(last.in_features, num_classes))


def cached_weights_path(weights) -> Path:
    """Where torchvision looks for (and saves) a weights file: the torch hub cache."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(weights.url)


def _torchvision_state_dict(weights) -> dict:
    path = cached_weights_path(weights)
    advice = (f"Download {weights.url} on a machine with a network and copy it to {path} "
              "(the torch hub cache; $TORCH_HOME moves it), or pass weights=None for random initialisation.")
    if not path.exists() and os.environ.get("FTLAB_OFFLINE"):
        raise WeightsUnavailable(f"{weights} is not in the local cache and FTLAB_OFFLINE is set. {advice}")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(20)
    try:
        return weights.get_state_dict(progress=False, check_hash=True)
    except (urllib.error.URLError, OSError, socket.timeout) as err:
        raise WeightsUnavailable(f"{weights} could not be downloaded ({err}). {advice}") from None
    finally:
        socket.setdefaulttimeout(previous)


def _weights_entry(name: str, weights):
    """The torchvision weights entry `weights` names for family `name` ("DEFAULT", an entry name, or the entry)."""
    enum = torchvision.models.get_model_weights(name)
    if isinstance(weights, enum):
        return weights
    valid = ["DEFAULT", *enum.__members__]
    if isinstance(weights, str) and weights in valid:
        return enum[weights]
    raise ValueError(f"unknown weights {weights!r} for {name}; available: {', '.join(valid)}, or None for random "
                     f"initialisation")


def get_model(name: str, num_classes: int | None = None, weights: str | None = "DEFAULT",
              input_size: int | None = None) -> nn.Module:
    """A model of family `name` with pretrained `weights` ("DEFAULT", an entry name, or None), when `num_classes`
    is given a freshly initialised head with that many outputs, and images shown at `input_size` pixels (None:
    the size its weights were trained at; smaller is faster and coarser, e.g. on a small GPU)."""
    if not isinstance(name, str) or name not in FAMILIES:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(FAMILIES)}")
    if num_classes is not None and (isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes <= 0):
        raise ValueError(f"num_classes must be a positive int (or None to keep the pretrained head), got {num_classes!r}")
    if input_size is not None and (isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 8):
        raise ValueError(f"input_size must be an int of at least 8 pixels (or None for the weights' own), got {input_size!r}")
    groups = FAMILIES[name]
    head_attr = groups["head"][0]
    if name == "glyphnet":
        model, meta = glyphnet.pretrained(weights)
        weights = None if weights is None else "GLYPHS_V1"
        size = meta["input_size"]
        preprocess = Preprocess(size, size, (meta["mean"],), (meta["std"],))
    else:
        entry = None if weights is None else _weights_entry(name, weights)
        if entry is None:
            model = torchvision.models.get_model(name, weights=None)
        else:
            state = _torchvision_state_dict(entry)
            with torch.device("meta"):  # no random initialisation for weights replaced at once (a third of the time)
                model = torchvision.models.get_model(name, weights=None)
            model.load_state_dict(state, assign=True)  # every parameter and buffer of these families is in it
            weights = str(entry).rpartition(".")[2]
        entry = entry or torchvision.models.get_model_weights(name).DEFAULT
        preprocess = Preprocess.from_transforms(entry.transforms())
        meta = dict(entry.meta)
    if input_size is not None:  # the same resize-then-crop proportion at the new size
        preprocess = replace(preprocess, size=input_size,
                             resize_size=round(input_size * preprocess.resize_size / preprocess.size))
    if num_classes is not None:
        _replace_head(model, head_attr, num_classes)
    model.ftlab = ModelInfo(name, dict(groups), head_attr, preprocess, weights, meta)
    return model


def info(model: nn.Module) -> ModelInfo:
    """`model.ftlab`, with a clear error for modules that did not come from get_model."""
    found = getattr(model, "ftlab", None)
    if not isinstance(found, ModelInfo):
        raise TypeError("this model has no layer groups: load it with ftlab.get_model(name, num_classes)")
    return found
