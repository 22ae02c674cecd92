"""Lesson 7's measurements: what fine-tuning kept of the source task (the pretrained head put back on the tuned
body) and WiSE-FT, the weight-space mix of a probed and a fine-tuned model."""
from __future__ import annotations

import copy

import torch
import torchvision
from torch import nn

from ftlab.offline import glyphs
from ftlab.runtime.data import ImageSet, Splits, load_target
from ftlab.runtime.measure import accuracy
from ftlab.runtime.models import info


def shifted_test(data: Splits, dissimilar: str, seed: int = 0) -> ImageSet:
    """A test set of the target's classes from another distribution: for glyph-digits, scikit-learn's handwritten
    digits (`dissimilar`); for another target, its test images blurred and noised (a corruption, as in ImageNet-C)."""
    if data.name == "glyph-digits":
        return load_target(dissimilar).test
    x = torchvision.transforms.functional.gaussian_blur(data.test.images.float(), [9, 9], [2.5, 2.5])
    noise = 20 * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    return ImageSet((x + noise).clamp(0, 255).round().to(torch.uint8), data.test.labels, data.test.classes)


def source_set(model: nn.Module, images: ImageSet, n: int = 620, seed: int = 7) -> tuple[ImageSet, str]:
    """Held-out images of the model's source task and what scoring them measures. GlyphNet: n fresh glyphs of
    its 62 classes (a seed pretraining never used). Another model (ImageNet, whose images are not at hand): the
    given images labelled with the pretrained model's own predictions, so the score is agreement with it."""
    if info(model).name == "glyphnet":
        x, y = glyphs.sample(glyphs.SOURCE_CHARS, n, seed)
        return ImageSet(x, y, list(glyphs.SOURCE_CHARS)), "source-task accuracy"
    with torch.no_grad():
        model.eval()
        device = next(model.parameters()).device
        labels = torch.cat([model(info(model).preprocess(images.images[i:i + 256].to(device))).argmax(1).cpu()
                            for i in range(0, len(images), 256)])
    return ImageSet(images.images, labels, [str(c) for c in range(int(labels.max()) + 1)]), \
        "agreement with the pretrained model's source-task predictions"


def with_head(model: nn.Module, head: nn.Module) -> nn.Module:
    """A copy of `model` whose head is a copy of `head` (e.g. the source head kept aside before fine-tuning)."""
    other = copy.deepcopy(model)
    setattr(other, info(model).head, copy.deepcopy(head).to(next(model.parameters()).device))
    return other


def source_accuracy(model: nn.Module, head: nn.Module, source: ImageSet) -> float:
    """What the tuned body still does on the source task: accuracy with the source head put back."""
    return accuracy(with_head(model, head), source.images, source.labels)


@torch.no_grad()
def mix(probe: nn.Module, tuned: nn.Module, alpha: float) -> nn.Module:
    """WiSE-FT: a copy of `tuned` whose every floating tensor (weights and BatchNorm statistics) is
    (1 - alpha) * probe's + alpha * tuned's; alpha = 0 is the probe, 1 the fine-tuned model."""
    a, b = probe.state_dict(), tuned.state_dict()
    if set(a) != set(b) or any(a[k].shape != b[k].shape for k in b):
        raise ValueError("probe and tuned must be the same architecture (the same state_dict keys and shapes)")
    mixed = copy.deepcopy(tuned)
    mixed.load_state_dict({k: (1 - alpha) * a[k] + alpha * b[k] if b[k].is_floating_point() else b[k] for k in b})
    return mixed
