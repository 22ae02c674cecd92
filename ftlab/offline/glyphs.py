"""Font-rendered glyph images: the offline source task and the offline *similar* target.

Glyphs are drawn once from the TrueType fonts that ship with matplotlib, then every sample
is a fresh random distortion (affine, stroke width, blur, low resolution, noise) made with
batched tensor ops, so any number of samples comes out deterministic for a given seed.
"""
from __future__ import annotations

import functools
import math
from pathlib import Path

import matplotlib
import torch
import torch.nn.functional as F
from matplotlib.ft2font import FT2Font
from PIL import Image, ImageDraw, ImageFont

SOURCE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+-=?!#&@%$"  # 62 classes
DIGITS = "0123456789"  # never seen in pretraining: the similar target
SIZE = 32  # side of every sample, in pixels
_CANVAS = 64  # glyphs are drawn at twice the sample size, then distorted and downsampled
# fonts whose character map claims letters but draws placeholders or math symbols
_SKIP_FONTS = {"LastResortHE-Regular.ttf", "cmex10.ttf", "cmsy10.ttf"}


def font_files() -> list[Path]:
    """matplotlib's bundled fonts that draw every source character and every digit."""
    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    wanted = SOURCE_CHARS + DIGITS
    return [
        path
        for path in sorted(folder.glob("*.ttf"))
        if path.name not in _SKIP_FONTS
        and all(FT2Font(str(path)).get_char_index(ord(c)) for c in wanted)
    ]


def _draw(font: ImageFont.FreeTypeFont, char: str) -> torch.Tensor:
    img = Image.new("L", (_CANVAS, _CANVAS), 0)
    draw = ImageDraw.Draw(img)
    left, top, right, bottom = draw.textbbox((0, 0), char, font=font)
    x = (_CANVAS - (right - left)) / 2 - left
    y = (_CANVAS - (bottom - top)) / 2 - top
    draw.text((x, y), char, fill=255, font=font)
    return torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(_CANVAS, _CANVAS)


@functools.lru_cache(maxsize=4)
def glyph_bank(chars: str) -> torch.Tensor:
    """Clean glyphs as a uint8 tensor [fonts, len(chars), 64, 64], white ink on black."""
    fonts = [ImageFont.truetype(str(path), size=54) for path in font_files()]
    return torch.stack([torch.stack([_draw(f, c) for c in chars]) for f in fonts])


def distort(clean: torch.Tensor, generator: torch.Generator, strength: float = 1.0) -> torch.Tensor:
    """Random distortions of a batch of clean 64 px glyphs [B,1,64,64] in [0,1] -> [B,1,32,32], drawn with
    `generator`, which lives on the batch's device."""
    b, device = clean.shape[0], clean.device

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, generator=generator, device=device)

    # stroke width: thicken a third, thin a sixth of the glyphs
    stroke = torch.rand(b, generator=generator, device=device)
    thick = F.max_pool2d(clean, 5, 1, 2)
    thin = -F.max_pool2d(-clean, 3, 1, 1)
    x = torch.where((stroke < 0.33).view(b, 1, 1, 1), thick, clean)
    x = torch.where((stroke > 0.83).view(b, 1, 1, 1), thin, x)
    x = F.avg_pool2d(x, 2)  # 64 -> 32 with anti-aliasing

    angle = uniform(-14, 14) * strength * math.pi / 180
    shear = uniform(-0.3, 0.3) * strength
    scale = uniform(0.78, 1.08)
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(b, 2, 3, device=device)
    theta[:, 0, 0], theta[:, 0, 1] = cos / scale, (-sin + shear) / scale
    theta[:, 1, 0], theta[:, 1, 1] = sin / scale, cos / scale
    theta[:, :, 2] = torch.stack([uniform(-0.12, 0.12), uniform(-0.12, 0.12)], 1) * strength
    grid = F.affine_grid(theta, [b, 1, SIZE, SIZE], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    # low resolution for a fifth, blur for a fifth of the samples
    lowres = torch.rand(b, generator=generator, device=device) < 0.2
    if lowres.any():
        small = F.interpolate(x[lowres], size=18, mode="area")
        x[lowres] = F.interpolate(small, size=SIZE, mode="bilinear", align_corners=False)
    blurred = torch.rand(b, generator=generator, device=device) < 0.2
    if blurred.any():
        kernel = torch.tensor([1.0, 2.0, 1.0], device=device)
        kernel = (kernel[:, None] * kernel[None, :] / 16).view(1, 1, 3, 3)
        x[blurred] = F.conv2d(x[blurred], kernel, padding=1)

    contrast = uniform(0.75, 1.0).view(b, 1, 1, 1)
    noise = 0.04 * torch.randn(x.shape, generator=generator, device=device)
    return (x * contrast + noise).clamp(0, 1)


def sample(chars: str, n: int, seed: int, batch: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """n distorted glyphs of `chars` as (uint8 images [n,1,32,32], labels [n]), deterministic in seed."""
    bank = glyph_bank(chars)
    n_fonts, n_chars = bank.shape[:2]
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % n_chars  # balanced classes
    labels = labels[torch.randperm(n, generator=generator)]
    fonts = torch.randint(n_fonts, (n,), generator=generator)
    images = torch.empty(n, 1, SIZE, SIZE, dtype=torch.uint8)
    for start in range(0, n, batch):
        sl = slice(start, start + batch)
        clean = bank[fonts[sl], labels[sl]].unsqueeze(1).float() / 255
        images[sl] = (distort(clean, generator) * 255).round().to(torch.uint8)
    return images, labels
