"""The learning-rate range test (Smith 2017; fastai's lr_find): train briefly while the rate grows
exponentially, watch where the loss falls fastest and where it blows up, and suggest a rate below that.

It runs on a copy of the trainer's model, with the same training set, frozen groups and per-group
multipliers, through a second Trainer: the original model, optimizer, history and step count are left
exactly as they were.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace

from ftlab.runtime.train import Trainer


@dataclass
class LRFinder:
    """What a range test measured: the rate and (smoothed) training loss at each step, and a suggested rate."""

    lrs: list[float]
    losses: list[float]  # exponentially smoothed, bias-corrected
    min_loss_lr: float  # the rate where the smoothed loss was lowest
    steepest_lr: float  # where the smoothed loss fell fastest per factor of ten in the rate
    suggested: float  # the steepest point, capped at a tenth of min_loss_lr: on the falling part, before the blow-up

    def plot(self, ax=None, mark: dict[str, float] | None = None):
        """Loss against learning rate (log axis), the suggestion marked; `mark` adds labelled rates to compare."""
        import matplotlib.pyplot as plt

        show = ax is None
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(self.lrs, self.losses)
        ax.set_xscale("log")
        ax.axvline(self.suggested, color="#2ca02c", linestyle="--", label=f"suggested {self.suggested:.2g}")
        for (label, lr), color in zip((mark or {}).items(), ("#d62728", "#9467bd", "#8c564b")):
            ax.axvline(lr, color=color, linestyle=":", label=f"{label} {lr:g}")
        low = min(self.losses)
        ax.set_ylim(low - 0.05 * abs(low), min(max(self.losses), 4 * self.losses[0]) * 1.05)
        ax.set(xlabel="learning rate (log scale)", ylabel="training loss (smoothed)", title="learning-rate range test")
        ax.legend()
        if show:
            plt.show()
        return ax


def lr_find(trainer: Trainer, start_lr: float = 1e-5, end_lr: float = 10.0, num_steps: int = 100,
            smooth: float = 0.9, diverge: float = 4.0) -> LRFinder:
    """Sweep the base rate from start_lr to end_lr over num_steps steps on a copy of trainer's model; stop early
    once the smoothed loss exceeds `diverge` times its best. The trainer itself is not touched."""
    if not (0 < start_lr < end_lr and math.isfinite(end_lr)):
        raise ValueError(f"need 0 < start_lr < end_lr, got start_lr={start_lr!r}, end_lr={end_lr!r}")
    if num_steps < 5:
        raise ValueError(f"num_steps must be at least 5 to draw a curve, got {num_steps!r}")
    if not 0 <= smooth < 1:
        raise ValueError(f"smooth must be in [0, 1), got {smooth!r}")
    if trainer.status in ("running", "paused"):
        raise RuntimeError("the trainer is running; run the range test before or after a run, not during one")
    factor = (end_lr / start_lr) ** (1 / (num_steps - 1))
    probe = Trainer(copy.deepcopy(trainer.model), trainer.train_set, None,
                    replace(trainer.cfg, lr=start_lr, lr_mult=dict(trainer.lr_mult), schedule="constant",
                            device=str(trainer.device), progress=False, log_every=1))
    lrs, losses, average = [], [], [0.0]

    def on_step(t: Trainer, record: dict) -> None:
        n = len(losses) + 1
        average[0] = smooth * average[0] + (1 - smooth) * record["loss"]
        losses.append(average[0] / (1 - smooth ** n))
        lrs.append(t.base_lr)
        if losses[-1] > diverge * min(losses) or len(losses) >= num_steps:
            t.stop()
        else:
            t.set_lr(start_lr * factor ** n)  # applied before the next step

    probe.on("step", on_step)
    epochs = math.ceil(num_steps / probe.steps_per_epoch)
    probe.fit(epochs=epochs, max_steps=num_steps)
    if len(losses) < 2:
        raise RuntimeError(f"the range test stopped after {len(losses)} step(s) ({probe.status}); lower start_lr")
    best = min(range(len(losses)), key=losses.__getitem__)
    steepest = min(range(1, max(best, 2)), key=lambda i: losses[i] - losses[i - 1])  # equal log-spaced steps
    return LRFinder(lrs, losses, lrs[best], lrs[steepest], min(lrs[steepest], lrs[best] / 10))
