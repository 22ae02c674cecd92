"""GlyphNet: the small 4-stage CNN that ftlab ships pretrained, so every lesson runs offline."""
from __future__ import annotations

from torch import Tensor, nn


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
