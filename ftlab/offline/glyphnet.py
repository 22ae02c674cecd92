"""GlyphNet: the small 4-stage CNN that ftlab ships pretrained, so every lesson runs offline; its weights and
their record (recipe, source accuracy, normalisation) sit in weights/ beside it."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import Tensor, nn

WEIGHTS_DIR = Path(__file__).parent / "weights"
WEIGHTS = ("DEFAULT", "GLYPHS_V1")  # the names get_model accepts for the shipped weights


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class GlyphNet(nn.Module):
    """stem -> stage1..stage4 (each halves the resolution) -> global pool -> head (Linear)."""

    def __init__(self, num_classes: int = 62, widths: tuple[int, ...] = (16, 24, 48, 96, 192), in_channels: int = 1):
        super().__init__()
        self.stem = _conv(in_channels, widths[0], 1)
        for i in range(1, 5):
            stage = nn.Sequential(_conv(widths[i - 1], widths[i], 2), _conv(widths[i], widths[i], 1))
            setattr(self, f"stage{i}", stage)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(widths[-1], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        x = self.stage4(self.stage3(self.stage2(self.stage1(x))))
        return self.head(self.pool(x))


def meta(name: str = "glyphnet_v1") -> dict:
    """The shipped weights' record: recipe, source accuracy, normalisation, input size."""
    return json.loads((WEIGHTS_DIR / f"{name}.json").read_text())


def pretrained(weights: str | None) -> tuple[GlyphNet, dict]:
    """GlyphNet with its source-task head, loaded with the shipped weights (or random when `weights` is None),
    and the weights' record."""
    record = meta()
    model = GlyphNet(num_classes=record["recipe"].get("num_classes", 62))
    if weights is not None:
        if weights not in WEIGHTS:
            raise ValueError(f"unknown weights {weights!r} for glyphnet; available: {', '.join(WEIGHTS)}, or None "
                             f"for random initialisation")
        state = torch.load(WEIGHTS_DIR / record["file"], map_location="cpu", weights_only=True)
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model, record
