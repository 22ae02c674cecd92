"""`ftlab demo`: the syllabus's central claims, measured on the offline default in under 2 minutes, or on any
model and target (`--model resnet18 --target oxford_pets`, with a network or the files in place, ideally a GPU).

Same target data, same step budget for every strategy: training from scratch, feature extraction
(head only), full fine-tuning at a low and at a too-high learning rate, and the stepwise recipe
(freeze -> new head -> train head -> unfreeze the top groups -> lower LR). Test accuracy is the
mean over seeds; each claim is stated as the syllabus states it and judged against the seed-to-seed
spread (a difference inside it is reported as not shown, not as met or failed).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from ftlab.runtime.data import TARGETS, TORCHVISION_SETS, Splits, load_target, per_class
from ftlab.runtime.freezing import freeze, unfreeze
from ftlab.runtime.models import get_model, list_models
from ftlab.teaching.lessons import decoded
from ftlab.teaching.spread import beyond_noise, mean_sd
from ftlab.runtime.table import Table
from ftlab.runtime.train import Trainer


@dataclass
class DemoConfig:
    model: str = "glyphnet"  # an ftlab.get_model name
    input_size: int | None = None  # side of the images the model sees (None: its weights' own)
    root: str = "data"  # where torchvision datasets are found or downloaded
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
    threads: int | None = 1  # torch CPU threads while comparing: one is fastest for this small model on a busy CPU
    curves: dict = field(default_factory=dict)  # (target, strategy) -> History of the first seed's run
    runs: dict = field(default_factory=dict)  # (target, strategy) -> test accuracy of every seed

    @classmethod
    def quick(cls, **kw) -> "DemoConfig":
        return cls(**{"seeds": (0,), "epochs": 15, **kw})


def load(cfg: DemoConfig, target: str, seed: int) -> Splits:
    """Target `target` with cfg.labels_per_class labelled images per class drawn by `seed`."""
    if target in TARGETS:
        return load_target(target, cfg.labels_per_class, seed=seed)
    full = decoded(target, cfg.model, cfg.input_size, cfg.root, None)
    return Splits(full.train.subset(per_class(full.train.labels, cfg.labels_per_class, seed)), full.val, full.test,
                  target)


def _trainer(model, data: Splits, cfg: DemoConfig, lr: float, seed: int) -> Trainer:
    return Trainer(model, data.train, data.val, lr=lr, batch_size=cfg.batch_size, seed=seed, progress=cfg.progress,
                   log_every=5)


def _run(strategy: str, data: Splits, cfg: DemoConfig, seed: int):
    """Train one strategy; returns (test accuracy, its History: training loss per step, validation per epoch)."""
    torch.manual_seed(seed)
    pretrained = strategy != "scratch"
    model = get_model(cfg.model, num_classes=len(data.train.classes), weights="DEFAULT" if pretrained else None,
                      input_size=cfg.input_size)
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
    return t.evaluate(data.test)["acc"], t.history


STRATEGIES = ("scratch", "head only", "full fine-tune, low LR", "full fine-tune, high LR", "stepwise recipe")


def compare(cfg: DemoConfig) -> Table:
    """Every strategy on every target, averaged over seeds; curves land in cfg.curves, per-seed runs in cfg.runs."""
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _compare(cfg)
    finally:
        torch.set_num_threads(threads)


def _compare(cfg: DemoConfig) -> Table:
    rows = []
    for target in cfg.targets:
        strategies = STRATEGIES if target == cfg.targets[0] else cfg.dissimilar_strategies
        for strategy in strategies:
            started = time.perf_counter()
            accs = []
            for seed in cfg.seeds:
                data = load(cfg, target, seed)
                acc, history = _run(strategy, data, cfg, seed)
                accs.append(acc)
                cfg.curves.setdefault((target, strategy), history)
            cfg.runs[target, strategy] = accs
            rows.append([target, strategy, *mean_sd(accs), time.perf_counter() - started])
    return Table(["target", "strategy", "test acc", "sd over seeds", "seconds"], rows,
                 title=f"{cfg.model}, {cfg.labels_per_class} labels per class, {cfg.epochs} epochs each, seeds {list(cfg.seeds)}")


def _verdict(better: list[float], worse: list[float], no_worse: bool = False) -> str:
    """'holds', 'not shown' (inside the seed-to-seed spread, or one seed) or 'contradicted'."""
    if len(better) < 2:
        return "one seed: no spread to judge against"
    ahead = mean_sd(better)[0] - mean_sd(worse)[0]
    if not beyond_noise(better, worse):
        return "holds (no worse, within the spread)" if no_worse else "not shown: inside the seed-to-seed spread"
    return "holds" if ahead > 0 else "contradicted"


def claims(runs: dict) -> list[tuple[str, str]]:
    """The syllabus's claims, each judged on per-seed test accuracies {(target, strategy): [acc, ...]}:
    a list of (claim with its measured numbers, verdict)."""
    targets = list(dict.fromkeys(t for t, _ in runs))
    similar = targets[0]

    def show(target, strategy):
        m, sd = mean_sd(runs[target, strategy])
        return f"{100 * m:.1f} ± {100 * sd:.1f}"

    low, scratch, head = "full fine-tune, low LR", "scratch", "head only"
    out = [(f"Fine-tuning a pretrained model needs less data than training from scratch: with the same few labels "
            f"and steps, fine-tuning {show(similar, low)}% vs scratch {show(similar, scratch)}% on {similar}",
            _verdict(runs[similar, low], runs[similar, scratch]))]
    if (similar, "full fine-tune, high LR") in runs:
        high = "full fine-tune, high LR"
        out.append((f"Fine-tune with a small learning rate; large steps ruin the pretrained features: low LR "
                    f"{show(similar, low)}% vs too-high LR {show(similar, high)}%",
                    _verdict(runs[similar, low], runs[similar, high])))
    if (similar, "stepwise recipe") in runs:
        out.append((f"Train the new last layers first on frozen features, then unfreeze some and fine-tune at a smaller "
                    f"learning rate: the recipe {show(similar, 'stepwise recipe')}% vs fine-tuning everything at once "
                    f"{show(similar, low)}%", _verdict(runs[similar, "stepwise recipe"], runs[similar, low], no_worse=True)))
    for other in targets[1:]:
        if (other, head) in runs and (similar, head) in runs:
            gains = {t: [f - h for f, h in zip(runs[t, low], runs[t, head])] for t in (similar, other)}
            out.append((f"How much to fine-tune depends on how similar the target is to the pretraining data: tuning the "
                        f"body adds {100 * mean_sd(gains[other])[0]:.1f} ± {100 * mean_sd(gains[other])[1]:.1f} points "
                        f"over frozen features on {other}, {100 * mean_sd(gains[similar])[0]:.1f} ± "
                        f"{100 * mean_sd(gains[similar])[1]:.1f} on {similar}", _verdict(gains[other], gains[similar])))
    return out


def plot_curves(curves: dict, path: str) -> None:
    """One column per target: validation accuracy per epoch (top) and training loss per step (bottom, log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    targets = list(dict.fromkeys(t for t, _ in curves))
    fig, axes = plt.subplots(2, len(targets), figsize=(6 * len(targets), 7), squeeze=False, sharex="col")
    for col, target in enumerate(targets):
        top, bottom = axes[0][col], axes[1][col]
        for (t, strategy), history in curves.items():
            if t != target:
                continue
            epochs = [e for e in history.epochs if "val_acc" in e]
            line, = top.plot([e["step"] for e in epochs], [e["val_acc"] for e in epochs], marker=".", label=strategy)
            steps = history.steps
            bottom.plot([r["step"] for r in steps], [min(r["loss"], 10.0) for r in steps], color=line.get_color(),
                        label=strategy)
        top.set(title=f"{target}: validation accuracy", ylabel="validation accuracy", ylim=(0, 1.02))
        bottom.set(title=f"{target}: training loss", xlabel="optimizer step", ylabel="training loss (log, capped at 10)",
                   yscale="log")
        top.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_demo(cfg: DemoConfig) -> Table:
    started = time.perf_counter()
    table = compare(cfg)
    print(table)
    print("\nthe syllabus's claims, judged against the spread over seeds (mean ± sd, test accuracy %):")
    for sentence, verdict in claims(cfg.runs):
        print(f"  [{verdict}] {sentence}")
    if cfg.plot:
        plot_curves(cfg.curves, cfg.plot)
        print(f"curves saved to {cfg.plot}")
    print(f"total {time.perf_counter() - started:.0f} s on {cfg.threads or torch.get_num_threads()} CPU thread(s)")
    return table


def add_arguments(parser) -> None:
    """The flags of `ftlab demo`."""
    parser.add_argument("--plot", default="ftlab-demo.png", help="where to save the curves (PNG)")
    parser.add_argument("--quick", action="store_true", help="one seed and a shorter budget (for tests)")
    parser.add_argument("--model", default="glyphnet", choices=list_models(),
                        help="the pretrained model (default: glyphnet, offline; others download ImageNet weights)")
    parser.add_argument("--target", choices=[*TARGETS, *TORCHVISION_SETS],
                        help="one target task instead of the offline pair (a torchvision dataset is read from "
                             "--root, downloaded the first time)")
    parser.add_argument("--root", default="data", help="where torchvision datasets are (default: ./data)")
    parser.add_argument("--epochs", type=int, help="epochs over the labelled images for every strategy")
    parser.add_argument("--labels-per-class", type=int, help="labelled images per class (default: 10)")
    parser.add_argument("--input-size", type=int, help="image side the model sees (default: its weights' own)")


def command(args) -> None:
    """`ftlab demo`: the full comparison, or the quick one, on the chosen model and target."""
    chosen = {"plot": args.plot, "model": args.model, "root": args.root, "input_size": args.input_size}
    if args.target:
        chosen["targets"] = (args.target,)
    for name, least in (("epochs", 2), ("labels_per_class", 1)):  # the recipe splits its epochs in two phases
        if getattr(args, name) is not None:
            if getattr(args, name) < least:
                raise SystemExit(f"--{name.replace('_', '-')} must be at least {least}, got {getattr(args, name)}")
            chosen[name] = getattr(args, name)
    run_demo(DemoConfig.quick(**chosen) if args.quick else DemoConfig(**chosen))
