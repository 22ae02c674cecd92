"""The recipe that produced GlyphNet's shipped weights: `ftlab pretrain` or `python -m ftlab.pretrain`.

Source task: 62 classes of font-rendered letters and symbols (ftlab.offline.glyphs), digits held out
for the similar target. Deterministic on the CPU for a given seed; prints source accuracy.
`--quick` runs a shortened version of the same recipe (CI uses it). A tool: it trains with the runtime's
measurements and writes into the offline package, so it sits above both.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ftlab.offline import glyphs
from ftlab.offline.glyphnet import WEIGHTS_DIR, GlyphNet
from ftlab.runtime.freezing import set_mode
from ftlab.runtime.measure import accuracy, count_parameters


@dataclass
class PretrainConfig:
    n_train: int = 100_000  # distorted source glyphs generated for training
    n_val: int = 5_000  # held-out source glyphs (another seed) for the reported accuracy
    epochs: int = 8
    batch_size: int = 256
    lr: float = 0.2  # peak of the one-cycle schedule (SGD, Nesterov momentum)
    weight_decay: float = 5e-4
    label_smoothing: float = 0.05
    seed: int = 0
    threads: int = 2  # CPU threads; results are deterministic for a fixed thread count


def source_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    return glyphs.sample(glyphs.SOURCE_CHARS, n, seed)


def pretrain(cfg: PretrainConfig, log: Callable[[str], None] = logging.getLogger(__name__).info) -> tuple[GlyphNet, dict]:
    """Train GlyphNet on the source task by the recipe; `log` receives one line per epoch. Returns it and its meta."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    started = time.perf_counter()
    x, y = source_data(cfg.n_train, cfg.seed)
    xv, yv = source_data(cfg.n_val, cfg.seed + 1)
    mean = x.float().mean().item() / 255
    std = x.float().std().item() / 255
    model = GlyphNet(num_classes=len(glyphs.SOURCE_CHARS)).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    steps_per_epoch = cfg.n_train // cfg.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.lr, total_steps=cfg.epochs * steps_per_epoch)
    gen = torch.Generator().manual_seed(cfg.seed)

    def normalise(images: torch.Tensor) -> torch.Tensor:
        return ((images.float() / 255 - mean) / std).contiguous(memory_format=torch.channels_last)
    for epoch in range(cfg.epochs):
        set_mode(model, True)
        order = torch.randperm(cfg.n_train, generator=gen)
        for s in range(steps_per_epoch):
            idx = order[s * cfg.batch_size : (s + 1) * cfg.batch_size]
            loss = F.cross_entropy(model(normalise(x[idx])), y[idx], label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = accuracy(model, xv, yv, batch=1024, preprocess=normalise)
        log(f"epoch {epoch + 1}/{cfg.epochs}  loss {loss.item():.3f}  source val acc {acc:.4f}  ({time.perf_counter() - started:.0f} s)")
    meta = {
        "source_task": f"{len(glyphs.SOURCE_CHARS)} font-rendered letters and symbols: {glyphs.SOURCE_CHARS}",
        "source_val_accuracy": acc,
        "num_params": count_parameters(model)[0],
        "mean": mean,
        "std": std,
        "input_size": glyphs.SIZE,
        "fonts": [p.name for p in glyphs.font_files()],
        "recipe": dataclasses.asdict(cfg),
        "seconds": round(time.perf_counter() - started, 1),
        "torch": torch.__version__,
        "device": "cpu",
    }
    return model, meta


def save(model: GlyphNet, meta: dict, name: str = "glyphnet_v1") -> Path:
    """Write fp16 weights (small enough to ship) and their meta beside them."""
    WEIGHTS_DIR.mkdir(exist_ok=True)
    path = WEIGHTS_DIR / f"{name}.pt"
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    torch.save(state, path)
    meta = dict(meta, file=path.name, sha256=hashlib.sha256(path.read_bytes()).hexdigest())
    (WEIGHTS_DIR / f"{name}.json").write_text(json.dumps(meta, indent=2) + "\n")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `python -m ftlab.pretrain` and `ftlab pretrain`."""
    parser.add_argument("--quick", action="store_true", help="a shortened run that does not overwrite the shipped weights")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's number of epochs")


def run(args: argparse.Namespace) -> None:
    """Pretrain, print the source-task accuracy and (unless --quick) save the weights into the package."""
    cfg = PretrainConfig(n_train=6_000, n_val=2_000, epochs=2) if args.quick else PretrainConfig()
    if args.epochs:
        cfg.epochs = args.epochs
    model, meta = pretrain(cfg, log=print)
    print(f"source-task accuracy: {meta['source_val_accuracy']:.4f} ({meta['num_params']:,} parameters, {meta['seconds']} s)")
    if not args.quick:
        print(f"saved {save(model, meta)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
