"""`ftlab demo`: the syllabus's central claims, measured on the offline default in under 2 minutes.

Same target data, same step budget for every strategy: training from scratch, feature extraction
(head only), full fine-tuning at a low and at a too-high learning rate, and the stepwise recipe
(freeze -> new head -> train head -> unfreeze the top groups -> lower LR). Test accuracy is the
mean over seeds; nothing in the table is typed in.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import torch

from .data import Splits, load_target
from .freeze import freeze, unfreeze
from .models import get_model
from .table import Table
from .train import Trainer


@dataclass
class DemoConfig:
    labels_per_class: int = 10  # labelled target examples per class
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 30  # the same budget (epochs over the small training set) for every strategy
    batch_size: int = 20
    scratch_lr: float = 0.05  # SGD with momentum 0.9 throughout
    head_lr: float = 0.05
    low_lr: float = 0.005  # fine-tuning every layer
    high_lr: float = 1.0  # the too-high learning rate
    recipe_top: tuple[str, ...] = ("stage3", "stage4")  # groups the recipe unfreezes after the head
    plot: str | None = "ftlab-demo.png"
    targets: tuple[str, ...] = ("glyph-digits", "sklearn-digits")
    dissimilar_strategies: tuple[str, ...] = ("scratch", "head only", "full fine-tune, low LR")
    progress: bool = False
    curves: dict = field(default_factory=dict)

    @classmethod
    def quick(cls, **kw) -> "DemoConfig":
        return cls(seeds=(0,), epochs=15, **kw)


def _trainer(model, data: Splits, cfg: DemoConfig, lr: float, seed: int) -> Trainer:
    return Trainer(model, data.train, None, lr=lr, batch_size=cfg.batch_size, seed=seed, progress=cfg.progress,
                   log_every=5)


def _run(strategy: str, data: Splits, cfg: DemoConfig, seed: int) -> tuple[float, list[float]]:
    """Train one strategy; returns (test accuracy, training-loss curve)."""
    torch.manual_seed(seed)
    pretrained = strategy != "scratch"
    model = get_model("glyphnet", num_classes=len(data.train.classes), weights="DEFAULT" if pretrained else None)
    if strategy == "scratch":
        t = _trainer(model, data, cfg, cfg.scratch_lr, seed)
        t.fit(cfg.epochs)
    elif strategy == "head only":
        freeze(model)
        unfreeze(model, "head")
        t = _trainer(model, data, cfg, cfg.head_lr, seed)
        t.fit(cfg.epochs)
    elif strategy.startswith("full fine-tune"):
        t = _trainer(model, data, cfg, cfg.high_lr if "high" in strategy else cfg.low_lr, seed)
        t.fit(cfg.epochs)
    elif strategy == "stepwise recipe":
        freeze(model)
        unfreeze(model, "head")
        t = _trainer(model, data, cfg, cfg.head_lr, seed)
        t.fit(cfg.epochs // 2)
        t.unfreeze(*cfg.recipe_top)
        t.set_lr(cfg.low_lr)
        t.fit(cfg.epochs - cfg.epochs // 2)
    else:
        raise ValueError(f"unknown strategy {strategy!r}")
    return t.evaluate(data.test)["acc"], t.history.series("loss")


STRATEGIES = ("scratch", "head only", "full fine-tune, low LR", "full fine-tune, high LR", "stepwise recipe")


def compare(cfg: DemoConfig) -> Table:
    """Every strategy on every target, averaged over seeds; curves land in cfg.curves."""
    rows = []
    for target in cfg.targets:
        strategies = STRATEGIES if target == cfg.targets[0] else cfg.dissimilar_strategies
        for strategy in strategies:
            started = time.perf_counter()
            accs = []
            for seed in cfg.seeds:
                data = load_target(target, cfg.labels_per_class, seed=seed)
                acc, curve = _run(strategy, data, cfg, seed)
                accs.append(acc)
                cfg.curves.setdefault((target, strategy), curve)
            spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
            rows.append([target, strategy, statistics.mean(accs), spread, time.perf_counter() - started])
    return Table(["target", "strategy", "test acc", "sd over seeds", "seconds"], rows,
                 title=f"{cfg.labels_per_class} labels per class, {cfg.epochs} epochs each, seeds {list(cfg.seeds)}")


def claims(table: Table) -> list[tuple[str, bool]]:
    """The syllabus's claims, each computed from the table: (sentence with the measured numbers, holds?)."""
    acc = {(r[0], r[1]): r[2] for r in table.rows}
    similar, dissimilar = table.rows[0][0], table.rows[-1][0]
    scratch, low = acc[similar, "scratch"], acc[similar, "full fine-tune, low LR"]
    gain = lambda t: acc[t, "full fine-tune, low LR"] - acc[t, "scratch"]
    out = [(f"fine-tuning beats training from scratch by {100 * (low - scratch):+.1f} points (claim: >= +30)",
            low - scratch >= 0.30)]
    if (similar, "stepwise recipe") in acc:
        recipe, high = acc[similar, "stepwise recipe"], acc[similar, "full fine-tune, high LR"]
        out += [(f"the stepwise recipe vs full fine-tuning: {100 * (recipe - low):+.1f} points (claim: no worse, "
                 f"within 1 point)", recipe >= low - 0.01),
                (f"a too-high learning rate costs {100 * (low - high):.1f} points (claim: >= 50)", low - high >= 0.50)]
    if dissimilar != similar:
        out.append((f"on the dissimilar target ({dissimilar}) fine-tuning gains {100 * gain(dissimilar):+.1f} points "
                    f"over scratch, vs {100 * gain(similar):+.1f} on {similar} (claim: a smaller gain)",
                    gain(dissimilar) < gain(similar)))
    return out


def plot_curves(curves: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = sorted({t for t, _ in curves}, key=lambda t: t != "glyph-digits")
    fig, axes = plt.subplots(1, len(targets), figsize=(6 * len(targets), 4), squeeze=False)
    for ax, target in zip(axes[0], targets):
        for (t, strategy), curve in curves.items():
            if t == target:
                finite = [min(v, 10.0) for v in curve]
                ax.plot(range(1, len(finite) + 1), finite, label=strategy)
        ax.set(title=f"training loss on {target}", xlabel="optimizer step", ylabel="loss (capped at 10)")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_demo(cfg: DemoConfig) -> Table:
    started = time.perf_counter()
    table = compare(cfg)
    print(table)
    print("\nwhat the table shows:")
    for sentence, holds in claims(table):
        print(f"  [{'holds' if holds else 'NOT MET'}] {sentence}")
    if cfg.plot:
        plot_curves(cfg.curves, cfg.plot)
        print(f"curves saved to {cfg.plot}")
    print(f"total {time.perf_counter() - started:.0f} s on {torch.get_num_threads()} CPU threads")
    return table
