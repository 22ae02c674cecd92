"""Stand-in datasets in torchvision's own on-disk formats, and a random-init resnet18 weight file where
torchvision looks for its ImageNet one: the full profile's real paths, run offline on small images."""
from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import torch
from PIL import Image

PET_BREEDS = 37
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def _picture(label: int, rng: np.random.Generator, size: int) -> np.ndarray:
    """A size x size RGB picture whose colour says its class, with noise."""
    base = np.array([(label * 67) % 256, (label * 131) % 256, (label * 197) % 256], dtype=np.int16)
    return np.clip(base + rng.integers(-40, 40, (size, size, 1)), 0, 255).astype(np.uint8)


def oxford_pets(root: Path, trainval: int = 40, test: int = 4, size: int = 40) -> None:
    """oxford-iiit-pet/images/*.jpg and annotations/{trainval,test}.txt ("id class species breed" lines)."""
    folder = root / "oxford-iiit-pet"
    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    rng = np.random.default_rng(0)
    for split, per_class in (("trainval", trainval), ("test", test)):
        lines = []
        for c in range(PET_BREEDS):
            breed = f"Breed{c:02d}" if c % 3 == 0 else f"breed{c:02d}"  # cats capitalised, dogs not, as in the set
            for i in range(per_class):
                image_id = f"{breed}_{split}{i}"
                Image.fromarray(_picture(c, rng, size)).save(folder / "images" / f"{image_id}.jpg", quality=90)
                lines.append(f"{image_id} {c + 1} {1 if c % 3 == 0 else 2} {i + 1}")
        (folder / "annotations" / f"{split}.txt").write_text("\n".join(lines) + "\n")


def cifar10(root: Path, per_batch: int = 100, test: int = 100) -> dict[str, str]:
    """cifar-10-batches-py/ with data_batch_1..5, test_batch and batches.meta as python pickles; returns each
    file's md5, which torchvision checks (the real files' md5s cannot match, see `trust_cifar10`)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    md5 = {}

    def write(name, entry):
        path = folder / name
        path.write_bytes(pickle.dumps(entry))
        md5[name] = hashlib.md5(path.read_bytes()).hexdigest()

    for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", test)]:
        labels = [i % 10 for i in range(n)]
        data = np.stack([_picture(y, rng, 32).transpose(2, 0, 1).reshape(-1) for y in labels])
        write(name, {"data": data, "labels": labels})
    write("batches.meta", {"label_names": CIFAR_CLASSES})
    return md5


def trust_cifar10(md5: dict[str, str]) -> str:
    """Python that points torchvision's CIFAR-10 checksum table at the stand-in files (run where they are read)."""
    return ("import torchvision.datasets as tvd\n"
            f"tvd.CIFAR10.train_list = {[[f'data_batch_{i}', md5[f'data_batch_{i}']] for i in range(1, 6)]!r}\n"
            f"tvd.CIFAR10.test_list = {[['test_batch', md5['test_batch']]]!r}\n"
            f"tvd.CIFAR10.meta = {{'filename': 'batches.meta', 'key': 'label_names', 'md5': {md5['batches.meta']!r}}}\n")


def flowers102(root: Path, per_class: int = 6, classes: int = 102, size: int = 24) -> dict[str, str]:
    """flowers-102/jpg/image_NNNNN.jpg, imagelabels.mat and setid.mat (via scipy), split 2 train, 2 val and the
    rest test per class, like the real set's 10/10/rest; returns the .mat files' md5s."""
    from scipy.io import savemat

    folder = root / "flowers-102"
    (folder / "jpg").mkdir(parents=True)
    rng = np.random.default_rng(2)
    labels, sets = [], {"trnid": [], "valid": [], "tstid": []}
    for c in range(classes):
        for i in range(per_class):
            image_id = len(labels) + 1
            labels.append(c + 1)
            Image.fromarray(_picture(c, rng, size)).save(folder / "jpg" / f"image_{image_id:05d}.jpg", quality=90)
            sets["trnid" if i < 2 else "valid" if i < 4 else "tstid"].append(image_id)
    savemat(folder / "imagelabels.mat", {"labels": np.array(labels)})
    savemat(folder / "setid.mat", {k: np.array(v) for k, v in sets.items()})
    return {name: hashlib.md5((folder / name).read_bytes()).hexdigest() for name in ("imagelabels.mat", "setid.mat")}


def resnet18_weights(torch_home: Path) -> Path:
    """A random-init resnet18 state dict under the name torchvision's ImageNet weights have in the hub cache."""
    import torchvision

    url = torchvision.models.ResNet18_Weights.DEFAULT.url
    path = torch_home / "hub" / "checkpoints" / url.rsplit("/", 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    return path
