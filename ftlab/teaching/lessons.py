"""Helpers for the notebooks in lessons/: run profiles, data by name, measured values the tests read back, plots."""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace

import torch
from torch import nn

from ftlab.runtime.data import TARGETS, ImageSet, Splits, load_target, load_torchvision, per_class
from ftlab.runtime.device import pick_device
from ftlab.runtime.freezing import eval_mode
from ftlab.runtime.models import get_model
from ftlab.teaching.spread import beyond_noise, mean_sd, paired_beyond_noise  # noqa: F401  (lessons.mean_sd in notebooks)

MIME = "application/vnd.ftlab.measured+json"


@dataclass(frozen=True)
class Profile:
    """What a lesson runs on; "quick" and "full" differ only in these values. Change some for one run with
    `lessons.profile("full", steps=50)` in a lesson's first cell, or FTLAB_PROFILE="full,steps=50" (see `profile`)."""

    name: str
    model: str  # ftlab.get_model name
    target: str  # the similar target task
    dissimilar: str  # a target further from the pretraining data
    labels_per_class: int  # labelled training images per class
    steps: int  # optimizer steps per training run
    batch_size: int  # images per optimizer step
    eval_size: int  # validation and test images used for scoring
    root: str  # where torchvision datasets are downloaded
    limit: int | None  # images decoded from each split of a torchvision dataset (None: all)
    threads: int | None  # torch CPU threads (None: torch's default)
    input_size: int | None = None  # side of the images the model sees (None: its weights' own, 224 for resnet18)
    source: str = ""  # what the model was pretrained on, for the lessons' sentences
    subject: str = ""  # what one image of the similar target shows, for the lessons' sentences


# One thread for the small quick-profile model: on a busy 2-core machine, measured, a 50-step run took
# 1.5 s of CPU time with one thread and 25 s with two (the second thread spins waiting for the first).
PROFILES = {
    "quick": Profile("quick", "glyphnet", "glyph-digits", "sklearn-digits", 10, 50, 20, 300, "data", None, 1,
                     source="font-rendered letters and symbols", subject="digit"),
    # 4000 images per split: every pets image, and for CIFAR-10 enough for 20 labels per class and 1000 to score,
    # at 0.6 GB per split once decoded at 224 pixels (all 50000 would take 7.5 GB of a 12 GB host)
    "full": Profile("full", "resnet18", "oxford_pets", "cifar10", 20, 300, 32, 1000, "data", 4000, None,
                    source="ImageNet photos", subject="pet"),
}


def _setting(field: str, text: str):
    """One FTLAB_PROFILE value, read as its Profile field's type ("none" for None)."""
    kind = Profile.__dataclass_fields__[field].type
    if text.lower() == "none" and "None" in kind:
        return None
    try:
        return int(text) if kind.startswith("int") else text
    except ValueError:
        raise ValueError(f"FTLAB_PROFILE: {field} must be a whole number, got {text!r}") from None


def profile(name: str, **changes) -> Profile:
    """The named run profile (see PROFILES) with `changes` to some of its fields, and torch's CPU thread count
    set to the profile's. FTLAB_PROFILE, when set ("full" or "full,steps=5,input_size=64"), replaces both."""
    if os.environ.get("FTLAB_PROFILE"):
        name, *pairs = [part.strip() for part in os.environ["FTLAB_PROFILE"].split(",")]
        if any("=" not in pair for pair in pairs):
            raise ValueError(f"FTLAB_PROFILE must read NAME or NAME,field=value,..., got {os.environ['FTLAB_PROFILE']!r}")
        changes = {}
        for pair in pairs:
            key, _, value = pair.partition("=")
            changes[key.strip()] = _setting(key.strip(), value.strip()) if key.strip() in FIELDS else value
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise ValueError(f"a profile has no field {unknown[0]!r}; its fields: {', '.join(FIELDS)}")
    chosen = replace(PROFILES[name], **changes)
    if chosen.threads:
        torch.set_num_threads(chosen.threads)
    return chosen


FIELDS = [f for f in Profile.__dataclass_fields__ if f != "name"]


@functools.lru_cache(maxsize=4)
def decoded(name: str, model: str, input_size: int | None, root: str, limit: int | None) -> Splits:
    """Torchvision dataset `name` decoded once per process for `model`'s preprocessing at `input_size`."""
    preprocess = get_model(model, weights=None, input_size=input_size).ftlab.preprocess
    return load_torchvision(name, root, preprocess, limit=limit)


def _sample(images: ImageSet, n: int, seed: int = 0) -> ImageSet:
    """A fixed random subset of n images (all of them when there are fewer)."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    return images.subset(order[:n])


def load(p: Profile, name: str | None = None, labels_per_class: int | None = None, seed: int = 0) -> Splits:
    """Target `name` (default: the profile's similar one) with k labels per class and the profile's eval size."""
    name = name or p.target
    k = labels_per_class or p.labels_per_class
    if name in TARGETS:
        splits = load_target(name, k, seed)
    else:
        full = decoded(name, p.model, p.input_size, p.root, p.limit)
        splits = Splits(full.train.subset(per_class(full.train.labels, k, seed)), full.val, full.test, name)
    return Splits(splits.train, _sample(splits.val, p.eval_size), _sample(splits.test, p.eval_size), name)


def keep_classes(splits: Splits, classes: list[int]) -> Splits:
    """Only the listed classes, relabelled 0..len(classes)-1 (e.g. a 5-class task from a 10-class one)."""
    def one(s: ImageSet) -> ImageSet:
        mask = torch.isin(s.labels, torch.tensor(classes))
        remap = {c: i for i, c in enumerate(classes)}
        labels = torch.tensor([remap[int(c)] for c in s.labels[mask]])
        return ImageSet(s.images[mask], labels, [s.classes[c] for c in classes])
    return Splits(one(splits.train), one(splits.val), one(splits.test), splits.name)


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, torch.Tensor):
        return _plain(value.tolist())
    if isinstance(value, float):
        return round(value, 6)
    return value


def record(**measured) -> None:
    """Keep measured values in the cell's output for tests/test_lessons.py, invisible to the student (the
    prose and printed sentences carry the numbers): an empty HTML output whose metadata holds them as JSON."""
    from IPython.display import display

    display({"text/html": ""}, metadata={MIME: {k: _plain(v) for k, v in measured.items()}}, raw=True)


def compare_runs(a: list[float], b: list[float], names: tuple[str, str], scale: float = 100, unit: str = " points",
                 resolution: float = 0.0) -> str:
    """One sentence comparing two sets of runs, saying whether the difference is beyond the seed-to-seed spread;
    means closer than `resolution` (e.g. one test image, 1 / len(test)) are never called different."""
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    diff = f"{names[0]} {scale * ma:.1f} ± {scale * sa:.1f} vs {names[1]} {scale * mb:.1f} ± {scale * sb:.1f}{unit}"
    if abs(ma - mb) < resolution:
        return f"{diff}: less than one test image apart, too close to call."
    if beyond_noise(a, b):
        return f"{diff}: a difference of {scale * abs(ma - mb):.1f}{unit}, larger than the spread over seeds."
    return f"{diff}: the difference is inside the spread over seeds, so these runs cannot tell the two apart."


def compare_paired(a: list[float], b: list[float], names: tuple[str, str], scale: float = 100,
                   unit: str = " points") -> str:
    """One sentence comparing runs paired by seed (same images, same start), judged on the per-seed differences."""
    mean, sd = mean_sd([x - y for x, y in zip(a, b)])
    diff = (f"{names[0]} minus {names[1]}, seed by seed: {scale * mean:+.3g} ± {scale * sd:.2g}{unit}")
    if paired_beyond_noise(a, b):
        return f"{diff}; the difference is larger than its spread over seeds."
    return f"{diff}; inside its spread over seeds, so these runs cannot tell the two apart."


class YourTurn:
    """A coding exercise from the bank (ftlab.assessment.exercises) inside a lesson: the task, hints one at a time, the
    solution on request, and check(**objects), which grades the student's live objects and says what is wrong."""

    def __init__(self, exercise: str, task: str, **settings):
        from ftlab.assessment.exercises import EXERCISES

        if exercise not in EXERCISES:
            raise ValueError(f"unknown exercise {exercise!r}; choose one of {', '.join(sorted(EXERCISES))}")
        self.exercise = EXERCISES[exercise](**settings)  # e.g. num_classes=3 for ReplaceHead
        self.task = task
        self.hints = self.exercise.item.hints
        self.grade = None

    def check(self, **objects):
        """Grade the objects (e.g. model=model), show the verdict, and return the Grade."""
        from IPython.display import HTML, display

        self.grade = self.exercise.check(**objects)
        display(HTML(self.grade._repr_html_()))
        record(**{f"turn {self.exercise.id}": self.grade.outcome.value})
        return self.grade

    def _ipython_display_(self) -> None:
        import html

        import ipywidgets as w
        from IPython.display import display

        shown, hint, solution = [0], w.HTML(), w.HTML()
        hint_button = w.Button(description=f"Hint 1 of {len(self.hints)}", layout=w.Layout(width="auto"))
        solution_button = w.Button(description="Show the solution", layout=w.Layout(width="auto"))

        def next_hint(_):
            shown[0] = min(shown[0] + 1, len(self.hints))
            hint.value = "<br>".join(f"<i>Hint {i + 1}:</i> {html.escape(h)}" for i, h in enumerate(self.hints[:shown[0]]))
            hint_button.description = (f"Hint {shown[0] + 1} of {len(self.hints)}" if shown[0] < len(self.hints)
                                       else "no more hints")
            hint_button.disabled = shown[0] == len(self.hints)

        hint_button.on_click(next_hint)
        solution_button.on_click(lambda _: setattr(solution, "value",
                                                   f"<pre>{html.escape(self.exercise.solution())}</pre>"))
        names = ", ".join(f"{n}={n}" for n in self.exercise.needs)
        display(w.VBox([w.HTML(f"<b>Your turn</b> ({self.exercise.id}): {html.escape(self.task)}<br>"
                               f"Write your code in the next cell, then run the check: "
                               f"<code>turn.check({names})</code>."),
                        w.HBox([hint_button, solution_button]), hint, solution],
                       layout=w.Layout(border="1px solid #9ecbff", padding="6px")))


def self_check(*item_ids: str, learner: str | None = None):
    """The lesson's own self-check: these bank items, in this order (answers saved for revision)."""
    from ftlab.assessment.bank import load_bank
    from ftlab.assessment.selfquiz import QuizSession, open_reviser

    bank = load_bank()
    items = [bank.get(i) for i in item_ids]
    reviser, notice = open_reviser(learner, bank)
    return QuizSession(items, reviser, notice=notice)


def feature_maps(model: nn.Module, images: torch.Tensor, groups: list[str], pooled: bool = False,
                 batch_size: int = 64) -> dict[str, torch.Tensor]:
    """The output of each named group for some images, captured with forward hooks on the model's own device,
    `batch_size` images at a time, and returned on the CPU. `pooled`: each channel averaged over the image, [N, C]
    (what a linear probe reads), instead of the whole maps [N, C, H, W], so a large set costs little memory."""
    captured, hooks = {g: [] for g in groups}, []

    def keep(group, output):
        captured[group].append((output.float().mean((2, 3)) if pooled else output).detach().cpu())

    for group in groups:
        module = model.get_submodule(model.ftlab.groups[group][0])
        hooks.append(module.register_forward_hook(lambda m, i, o, g=group: keep(g, o)))
    device = next(model.parameters()).device
    try:
        with eval_mode(model), torch.no_grad():
            for start in range(0, len(images), batch_size):
                model(model.ftlab.preprocess(images[start:start + batch_size].to(device)))
    finally:
        for h in hooks:
            h.remove()
    return {g: torch.cat(parts) for g, parts in captured.items()}


def device() -> torch.device:
    """Where the lessons compute outside a Trainer: the device a Trainer would pick (cuda, mps, then the CPU)."""
    return pick_device()


def show_images(images: ImageSet, n: int = 10, title: str = ""):
    """A row of n images with their class names."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, n, figsize=(1.2 * n, 1.6), squeeze=False)
    for i, ax in enumerate(axes[0]):
        x = images.images[i]
        ax.imshow(x[0] if x.shape[0] == 1 else x.permute(1, 2, 0), cmap="gray")
        ax.set_title(images.classes[int(images.labels[i])], fontsize=9)
        ax.axis("off")
    fig.suptitle(title)
    plt.show()


def show_filters(conv: nn.Conv2d, title: str = "", n: int = 16):
    """The first n filters of a convolution as small images (RGB when it reads 3 channels)."""
    import matplotlib.pyplot as plt

    w = conv.weight.detach().float().cpu()[:n]
    fig, axes = plt.subplots(1, len(w), figsize=(0.8 * len(w), 1.1))
    for f, ax in zip(w, axes):
        f = (f - f.min()) / (f.max() - f.min() + 1e-12)
        ax.imshow(f.permute(1, 2, 0) if f.shape[0] == 3 else f.mean(0), cmap="gray")
        ax.axis("off")
    fig.suptitle(title)
    plt.show()


def show_feature_maps(maps: dict[str, torch.Tensor], channels: int = 8):
    """For one image: the first `channels` feature maps of each group, one row per group."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(maps), channels, figsize=(1.1 * channels, 1.2 * len(maps)), squeeze=False)
    for row, (group, out) in zip(axes, maps.items()):
        for c, ax in enumerate(row):
            ax.imshow(out[0, c], cmap="viridis")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(f"{group}\n{out.shape[-1]}x{out.shape[-2]}", fontsize=8)
    plt.show()


def plot_lines(series: dict[str, tuple], xlabel: str, ylabel: str, title: str = "", logx: bool = False,
               hline: float | None = None, ylim: tuple[float, float] | None = None,
               vline: tuple[float, str] | None = None, logy: bool = False):
    """One line per label from {label: (xs, ys)} or {label: (xs, means, sds)} (sds drawn as error bars);
    an optional dashed horizontal reference line and a labelled vertical marker (x, text)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter

    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, (xs, ys, *errs) in series.items():
        ax.errorbar(xs, ys, yerr=errs[0] if errs else None, marker="o", capsize=3, label=label)
    if hline is not None:
        ax.axhline(hline, color="gray", linestyle="--", linewidth=1)
    if vline is not None:
        ax.axvline(vline[0], color="#d62728", linestyle=":", linewidth=1.5)
        ax.annotate(vline[1], (vline[0], 0.02), xycoords=("data", "axes fraction"), xytext=(4, 0),
                    textcoords="offset points", color="#d62728", fontsize=9)
    if logx:
        ax.set_xscale("log")
        xs = sorted({x for xs, *_ in series.values() for x in xs})
        ax.set_xticks(xs, [f"{x:g}" for x in xs])  # the values that were run, not powers of ten
        ax.xaxis.set_minor_formatter(NullFormatter())
    if logy:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend()
    plt.show()


def plot_bars(groups: dict[str, dict], ylabel: str, title: str = "", logy: bool = False,
              errors: dict[str, dict[str, float]] | None = None, ylim: tuple[float, float] | None = None):
    """Grouped bars from {series: {category: value}}, e.g. weight drift per layer group for two runs; optional
    error bars {series: {category: sd}} and y-axis limits (accuracy charts start at 0 so bars compare honestly)."""
    import matplotlib.pyplot as plt

    categories = list(next(iter(groups.values())))
    width = 0.8 / len(groups)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for i, (label, values) in enumerate(groups.items()):
        err = [errors[label][c] for c in categories] if errors else None
        bars = ax.bar([j + i * width for j in range(len(categories))], [values[c] for c in categories], width,
                      yerr=err, capsize=4 if err else 0, label=label)
        if len(groups) == 1:
            ax.bar_label(bars, fmt=lambda v: f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}",
                         padding=2 if err is None else 8)
    slanted = max(map(len, categories)) > 8  # long names would overlap
    ax.set_xticks([j + width * (len(groups) - 1) / 2 for j in range(len(categories))], categories,
                  rotation=20 if slanted else 0, ha="right" if slanted else "center")
    if logy:
        ax.set_yscale("log")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set(ylabel=ylabel, title=title)
    if len(groups) > 1:
        ax.legend()
    plt.show()
