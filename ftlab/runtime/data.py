"""Datasets as in-memory uint8 tensors: the offline targets, your own ImageFolder, torchvision sets.

Images are decoded and resized once at load time; the trainer moves them to the device once
and only normalises per batch. Splits are deterministic, and `labels_per_class=k` takes the
first k of a fixed per-class order, so the k=5 training set is inside the k=10 one.
"""
from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ftlab.offline import glyphs
from ftlab.runtime.preprocess import Preprocess

TARGETS = {
    "glyph-digits": "font-rendered digits 0-9: the similar target (same domain as GlyphNet's source, new classes)",
    "sklearn-digits": "scikit-learn's 8x8 handwritten digits, upscaled: the dissimilar target (real handwriting)",
}


@dataclass
class ImageSet:
    images: torch.Tensor  # uint8 [N, C, H, W]
    labels: torch.Tensor  # int64 [N]
    classes: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, index: torch.Tensor) -> "ImageSet":
        return ImageSet(self.images[index], self.labels[index], self.classes)


def check_labels(data: ImageSet, classes: int | None, what: str, model: str, advice: str = "") -> None:
    """Refuse a set a model of family `model` predicting `classes` classes (None: unknown) cannot train or be
    scored on: an empty one, one with more images than labels or the other way, a label that is not a class."""
    if len(data) == 0:
        raise ValueError(f"the {what} is empty{advice}")
    if len(data.images) != len(data.labels):
        raise ValueError(f"the {what} has {len(data.images)} images but {len(data.labels)} labels")
    low, high = int(data.labels.min()), int(data.labels.max())
    if classes is not None and (low < 0 or high >= classes):
        raise ValueError(f"the {what} has labels from {low} to {high}, but the model's head predicts {classes} "
                         f"classes (labels 0..{classes - 1}); build the model with "
                         f"get_model({model!r}, num_classes={max(high + 1, len(data.classes))}) or fix the labels")


@dataclass
class Splits:
    train: ImageSet
    val: ImageSet
    test: ImageSet
    name: str = ""


def per_class(labels: torch.Tensor, k: int, seed: int = 0) -> torch.Tensor:
    """Indices of the first k examples of each class in a fixed seeded order (nested in k)."""
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    picked, ordered = [], labels[order]
    for c in labels.unique().tolist():
        members = order[ordered == c]
        if len(members) < k:
            raise ValueError(f"class {c} has only {len(members)} examples; asked for {k} per class")
        picked.append(members[:k])
    return torch.cat(picked).sort().values


@functools.lru_cache(maxsize=1)
def _glyph_digits() -> tuple[ImageSet, ImageSet, ImageSet]:
    classes = list(glyphs.DIGITS)
    pool, val, test = (ImageSet(*glyphs.sample(glyphs.DIGITS, n, seed), classes)
                       for n, seed in ((1000, 100), (500, 101), (1000, 102)))
    return pool, val, test


@functools.lru_cache(maxsize=1)
def _sklearn_digits() -> tuple[ImageSet, ImageSet, ImageSet]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16
    x = F.pad(F.interpolate(x, size=24, mode="bilinear", align_corners=False), (4, 4, 4, 4))
    images = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    full = ImageSet(images, torch.tensor(digits.target), [str(d) for d in range(10)])
    test = per_class(full.labels, 60, seed=7)
    rest = torch.ones(len(full), dtype=torch.bool)
    rest[test] = False
    rest = rest.nonzero().squeeze(1)
    val = rest[per_class(full.labels[rest], 30, seed=8)]
    pool = rest[~torch.isin(rest, val)]
    return full.subset(pool), full.subset(val), full.subset(test)


def load_target(name: str = "glyph-digits", labels_per_class: int | None = 10, seed: int = 0) -> Splits:
    """An offline target task with deterministic val/test sets and k labelled examples per class."""
    if name not in TARGETS:
        raise ValueError(f"unknown target {name!r}; offline targets: {', '.join(TARGETS)}")
    pool, val, test = _glyph_digits() if name == "glyph-digits" else _sklearn_digits()
    train = pool if labels_per_class is None else pool.subset(per_class(pool.labels, labels_per_class, seed))
    return Splits(train, val, test, name)


def _stack(dataset, preprocess: Preprocess, classes: list[str] | None = None) -> ImageSet:
    images, labels = [], []
    for image, label in dataset:
        images.append(preprocess.prepare(image))
        labels.append(int(label))
    classes = classes or list(getattr(dataset, "classes", [])) or [str(c) for c in sorted(set(labels))]
    return ImageSet(torch.stack(images), torch.tensor(labels), classes)


def _split(full: ImageSet, val_fraction: float, test_fraction: float, seed: int, name: str) -> Splits:
    """A seeded random split. No training image is an error; an empty val or test split that was asked for
    is a warning (fit and evaluate refuse an empty set)."""
    for what, fraction in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction < 1:
            raise ValueError(f"{what} must be a number in [0, 1), got {fraction!r}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be below 1 (some images must train), "
                         f"got {val_fraction} + {test_fraction}")
    order = torch.randperm(len(full), generator=torch.Generator().manual_seed(seed))
    n_val, n_test = int(len(full) * val_fraction), int(len(full) * test_fraction)
    if len(full) - n_val - n_test == 0:
        raise ValueError(f"{name}: no image is left for training ({len(full)} images in all)")
    for split, n, fraction in (("validation", n_val, val_fraction), ("test", n_test, test_fraction)):
        if n == 0 and fraction > 0:
            warnings.warn(f"{name}: the {split} split is empty ({len(full)} images x {fraction} < 1 image); add "
                          f"images or raise the fraction, and do not pass an empty set to fit or evaluate", stacklevel=3)
    return Splits(full.subset(order[n_val + n_test:]), full.subset(order[:n_val]),
                  full.subset(order[n_val:n_val + n_test]), name)


def load_image_folder(root: str | Path, preprocess: Preprocess, val_fraction: float = 0.15,
                      test_fraction: float = 0.15, seed: int = 0) -> Splits:
    """Your own images, one sub-folder per class (torchvision's ImageFolder layout)."""
    from torchvision.datasets import ImageFolder

    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder; expected one sub-folder of images per class")
    folder = ImageFolder(root)
    if len(folder.classes) < 2:
        raise ValueError(f"{root} has only one class folder ({', '.join(folder.classes)}); a classifier needs "
                         f"at least two: one sub-folder of images per class")
    return _split(_stack(folder, preprocess), val_fraction, test_fraction, seed, root.name)


# name: (torchvision class, the official splits that train and give the validation images, the test split)
TORCHVISION_SETS = {
    "cifar10": ("CIFAR10", ({"train": True},), {"train": False}),
    "flowers102": ("Flowers102", ({"split": "train"}, {"split": "val"}), {"split": "test"}),
    "oxford_pets": ("OxfordIIITPet", ({"split": "trainval"},), {"split": "test"}),
}
OTHER_CHOICES = f"choose another dataset ({', '.join(TORCHVISION_SETS)}) or an offline target: {', '.join(TARGETS)}"


def _damage(name: str, cls, root: Path) -> list[str]:
    """What is wrong with a dataset whose folder is there: files missing, or not the bytes torchvision knows
    (its md5 record), as after an interrupted download. Empty when the folder is absent or whole."""
    from torchvision.datasets.utils import check_integrity

    if name == "cifar10":
        folder = root / cls.base_folder
        files = [(folder / f, md5) for f, md5 in (*cls.train_list, *cls.test_list, (cls.meta["filename"], cls.meta["md5"]))]
    elif name == "flowers102":
        folder = root / "flowers-102"
        files = [(folder / f, md5) for key, (f, md5) in cls._file_dict.items() if key != "image"] + [(folder / "jpg", None)]
    else:
        folder = root / "oxford-iiit-pet"
        files = [(folder / "images", None)] + [(folder / "annotations" / f"{s}.txt", None) for s in ("trainval", "test")]
    if not folder.exists():
        return []
    return [f"{path} is missing" if not path.exists() else
            f"{path} is corrupt or partial (its md5 is not torchvision's {md5})"
            for path, md5 in files if not path.exists() or (md5 and not check_integrity(str(path), md5))]


def _decode(parts: list, preprocess: Preprocess, classes: list[str], limit: int | None, seed: int) -> ImageSet:
    """The images of one or more torchvision datasets (at most `limit`, a seeded random choice), decoded once."""
    whole = parts[0] if len(parts) == 1 else torch.utils.data.ConcatDataset(parts)
    if limit is not None:
        order = torch.randperm(len(whole), generator=torch.Generator().manual_seed(seed))[:limit]
        whole = torch.utils.data.Subset(whole, order.sort().values.tolist())
    return _stack(whole, preprocess, classes)


def load_torchvision(name: str, root: str | Path, preprocess: Preprocess, download: bool = True,
                     limit: int | None = None, seed: int = 0, val_fraction: float = 0.15) -> Splits:
    """A torchvision dataset (needs a network the first time; FTLAB_OFFLINE=1 never downloads), decoded once.

    Training and validation images come from the dataset's official training splits (Flowers102: train and
    val together), a seeded `val_fraction` of them for validation; test images are its official test split.
    `limit` caps the images decoded from each side (a seeded random choice)."""
    import torchvision.datasets as tvd

    if name not in TORCHVISION_SETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(TORCHVISION_SETS)}")
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be a number in (0, 1), got {val_fraction!r}")
    class_name, train_splits, test_split = TORCHVISION_SETS[name]
    cls, root = getattr(tvd, class_name), Path(root)
    offline = bool(os.environ.get("FTLAB_OFFLINE"))
    try:
        train_parts = [cls(str(root), download=download and not offline, **kw) for kw in train_splits]
        test_part = cls(str(root), download=download and not offline, **test_split)
    except (OSError, RuntimeError) as err:
        damage = _damage(name, cls, root)
        if damage:
            raise RuntimeError(f"{name}: the files in {root} are incomplete: {'; '.join(damage)}. Delete the "
                               f"folder and download it again (with a network, the next load does), copy the "
                               f"complete files there, or {OTHER_CHOICES}") from None
        why = "FTLAB_OFFLINE is set" if offline and download else f"it could not be downloaded ({err})"
        raise RuntimeError(f"{name} is not in {root} and {why}. With no network, copy the dataset files into "
                           f"{root}, or {OTHER_CHOICES}") from None
    classes = list(getattr(test_part, "classes", [])) or [  # older torchvision's Flowers102 names none
        f"class {c}" for c in range(1 + max(int(y) for part in (*train_parts, test_part) for y in _labels(part)))]
    pool = _decode(train_parts, preprocess, classes, limit, seed)
    order = torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))
    n_val = int(len(pool) * val_fraction)
    return Splits(pool.subset(order[n_val:]), pool.subset(order[:n_val]),
                  _decode([test_part], preprocess, classes, limit, seed), name)


def _labels(dataset) -> list[int]:
    """Every label of a torchvision dataset, read without decoding an image."""
    for attribute in ("targets", "_labels"):
        if hasattr(dataset, attribute):
            return list(getattr(dataset, attribute))
    raise TypeError(f"{type(dataset).__name__} keeps its labels in no attribute ftlab knows")
