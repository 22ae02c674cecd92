"""Helpers for the notebooks in lessons/: run profiles, data by name, measured values the tests read back, plots."""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch import nn

from .data import TARGETS, ImageSet, Splits, load_target, load_torchvision, per_class
from .freeze import eval_mode, group_names, group_parameters
from .models import get_model

MIME = "application/vnd.ftlab.measured+json"


@dataclass(frozen=True)
class Profile:
    """What a lesson runs on; "quick" and "full" differ only in these values."""

    name: str
    model: str  # ftlab.get_model name
    target: str  # the similar target task
    dissimilar: str  # a target further from the pretraining data
    labels_per_class: int  # labelled training images per class
    steps: int  # optimizer steps per training run
    batch_size: int
    eval_size: int  # validation and test images used for scoring
    root: str  # where torchvision datasets are downloaded
    limit: int | None  # images decoded from a torchvision dataset (None: all)


PROFILES = {
    "quick": Profile("quick", "glyphnet", "glyph-digits", "sklearn-digits", 10, 50, 20, 300, "data", None),
    "full": Profile("full", "resnet18", "oxford_pets", "cifar10", 20, 300, 32, 1000, "data", 8000),
}


def profile(name: str) -> Profile:
    """The named run profile (see PROFILES)."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


@functools.lru_cache(maxsize=4)
def _torchvision(name: str, model: str, root: str, limit: int | None) -> Splits:
    return load_torchvision(name, root, get_model(model, weights=None).ftlab.preprocess, limit=limit)


def _sample(images: ImageSet, n: int, seed: int = 0) -> ImageSet:
    """A fixed random subset of n images (all of them when there are fewer)."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    return images.subset(order[:n])


def load(p: Profile, name: str | None = None, labels_per_class: int | None = None, seed: int = 0) -> Splits:
    """Target `name` (default: the profile's similar one) with k labels per class and the profile's eval size."""
    name = name or p.target
    k = labels_per_class or p.labels_per_class
    if name in TARGETS:
        splits = load_target(name, k, seed)
    else:
        full = _torchvision(name, p.model, p.root, p.limit)
        splits = Splits(full.train.subset(per_class(full.train.labels, k, seed)), full.val, full.test, name)
    return Splits(splits.train, _sample(splits.val, p.eval_size), _sample(splits.test, p.eval_size), name)


def keep_classes(splits: Splits, classes: list[int]) -> Splits:
    """Only the listed classes, relabelled 0..len(classes)-1 (e.g. a 5-class task from a 10-class one)."""
    def one(s: ImageSet) -> ImageSet:
        mask = torch.isin(s.labels, torch.tensor(classes))
        remap = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([remap[int(c)] for c in s.labels[mask]])
        return ImageSet(s.images[mask], labels, [s.classes[c] for c in classes])
    return Splits(one(splits.train), one(splits.val), one(splits.test), splits.name)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return _plain(value.tolist())
    if isinstance(value, float):
        return round(value, 6)
    return value


def record(**measured) -> None:
    """Display measured values (as text for people, as JSON under MIME for tests/test_lessons.py)."""
    from IPython.display import display

    values = {k: _plain(v) for k, v in measured.items()}
    text = "\n".join(f"measured {k} = {v}" for k, v in values.items())
    display({MIME: values, "text/plain": text}, raw=True)


def drift(model: nn.Module, before: dict[str, torch.Tensor]) -> dict[str, float]:
    """Per layer group: how far the weights moved from `before`, as ||w - w0|| / ||w0||."""
    out = {}
    for group in group_names(model):
        moved = total = 0.0
        for name, p in group_parameters(model, group):
            w0 = before[name].to(p.device).float()
            moved += (p.detach().float() - w0).pow(2).sum().item()
            total += w0.pow(2).sum().item()
        out[group] = (moved / max(total, 1e-12)) ** 0.5
    return out


def feature_maps(model: nn.Module, images: torch.Tensor, groups: list[str]) -> dict[str, torch.Tensor]:
    """The output of each named group for a batch of images, captured with forward hooks."""
    captured, hooks = {}, []
    for group in groups:
        module = model.get_submodule(model.ftlab.groups[group][0])
        hooks.append(module.register_forward_hook(lambda m, i, o, g=group: captured.__setitem__(g, o.detach().cpu())))
    try:
        with eval_mode(model), torch.no_grad():
            device = next(model.parameters()).device
            model(model.ftlab.preprocess(images.to(device)))
    finally:
        for h in hooks:
            h.remove()
    return captured


def show_images(images: ImageSet, n: int = 10, title: str = ""):
    """A row of n images with their class names."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=(1.2 * n, 1.6), squeeze=False)
    for i, ax in enumerate(axes[0]):
        x = images.images[i]
        ax.imshow(x[0] if x.shape[0] == 1 else x.permute(1, 2, 0), cmap="gray")
        ax.set_title(images.classes[int(images.labels[i])], fontsize=9)
        ax.axis("off")
    fig.suptitle(title)
    plt.show()


def show_filters(conv: nn.Conv2d, title: str = "", n: int = 16):
    """The first n filters of a convolution as small images (RGB when it reads 3 channels)."""
    import matplotlib.pyplot as plt

    w = conv.weight.detach().float().cpu()[:n]
    fig, axes = plt.subplots(1, len(w), figsize=(0.8 * len(w), 1.1))
    for f, ax in zip(w, axes):
        f = (f - f.min()) / (f.max() - f.min() + 1e-12)
        ax.imshow(f.permute(1, 2, 0) if f.shape[0] == 3 else f.mean(0), cmap="gray")
        ax.axis("off")
    fig.suptitle(title)
    plt.show()


def show_feature_maps(maps: dict[str, torch.Tensor], channels: int = 8):
    """For one image: the first `channels` feature maps of each group, one row per group."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(maps), channels, figsize=(1.1 * channels, 1.2 * len(maps)), squeeze=False)
    for row, (group, out) in zip(axes, maps.items()):
        for c, ax in enumerate(row):
            ax.imshow(out[0, c], cmap="viridis")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(f"{group}\n{out.shape[-1]}x{out.shape[-2]}", fontsize=8)
    plt.show()


def plot_lines(series: dict[str, tuple[list, list]], xlabel: str, ylabel: str, title: str = "",
               logx: bool = False, hline: float | None = None):
    """One line per label from {label: (xs, ys)}; an optional horizontal reference line."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", label=label)
    if hline is not None:
        ax.axhline(hline, color="gray", linestyle="--", linewidth=1)
    if logx:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend()
    plt.show()


def plot_bars(groups: dict[str, dict[str, float]], ylabel: str, title: str = "", logy: bool = False):
    """Grouped bars from {series: {category: value}}, e.g. weight drift per layer group for two runs."""
    import matplotlib.pyplot as plt

    categories = list(next(iter(groups.values())))
    width = 0.8 / len(groups)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for i, (label, values) in enumerate(groups.items()):
        bars = ax.bar([j + i * width for j in range(len(categories))], [values[c] for c in categories], width,
                      label=label)
        if len(groups) == 1:
            ax.bar_label(bars, fmt=lambda v: f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}")
    slanted = max(map(len, categories)) > 8  # long names would overlap
    ax.set_xticks([j + width * (len(groups) - 1) / 2 for j in range(len(categories))], categories,
                  rotation=20 if slanted else 0, ha="right" if slanted else "center")
    if logy:
        ax.set_yscale("log")
    ax.set(ylabel=ylabel, title=title)
    if len(groups) > 1:
        ax.legend()
    plt.show()
