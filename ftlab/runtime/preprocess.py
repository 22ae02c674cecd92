"""Model input preparation: decode/resize once to uint8, normalise per batch on the device.

Built from a weights entry's `transforms()` (torchvision's ImageClassification preset) so the
numbers are never typed by hand; decoding and resizing happen once when a dataset is loaded,
and only the cheap per-batch part (dtype, channels, size, mean/std) runs in the training loop.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.transforms import functional as TF


@functools.lru_cache(maxsize=64)
def _stat(values: tuple[float, ...], device: torch.device) -> torch.Tensor:
    """Mean or std as a [1, C, 1, 1] tensor on the device, made once: a new one every batch would be a
    host-to-device copy (and a stream sync on CUDA) per step."""
    with torch.inference_mode(False):  # a plain tensor even if first asked for under inference_mode
        return torch.tensor(values, device=device).view(1, -1, 1, 1)


@dataclass(frozen=True)
class Preprocess:
    size: int  # side of the square the model sees
    resize_size: int  # shorter side before the centre crop, when decoding images
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @property
    def channels(self) -> int:
        return len(self.mean)

    @classmethod
    def from_transforms(cls, t) -> "Preprocess":
        """From torchvision's ImageClassification preset (what `weights.transforms()` returns)."""
        return cls(int(t.crop_size[0]), int(t.resize_size[0]), tuple(t.mean), tuple(t.std))

    def prepare(self, image: Image.Image) -> torch.Tensor:
        """One decoded image -> uint8 tensor [C, size, size]: resize, centre crop, channel mode."""
        image = image.convert("L" if self.channels == 1 else "RGB")
        image = TF.center_crop(TF.resize(image, self.resize_size), self.size)
        return TF.pil_to_tensor(image)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """A batch [N, C, H, W] (uint8, or float in [0, 1]) -> normalised float at the model's size."""
        x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
        if x.shape[1] != self.channels:
            x = x.mean(1, keepdim=True) if self.channels == 1 else x.expand(-1, self.channels, -1, -1)
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        return (x - _stat(self.mean, x.device)) / _stat(self.std, x.device)
