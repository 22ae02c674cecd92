"""Rollback: copies of a model's weights, buffers and optimizer state, to undo a diverged stretch of training.

The loss of step k is computed on the weights left by step k-1, so a snapshot is only known to be good
once the step after it had a finite loss: `Rollback` keeps the newest snapshot and the one before it.
A snapshot is only taken of a state whose parameters and buffers (BatchNorm statistics) are all finite.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Snapshot:
    step: int  # the optimizer step whose weights these are
    model: dict[str, torch.Tensor]  # a state_dict of copies: parameters and buffers
    optim: dict[torch.Tensor, dict]  # optimizer state per parameter, copied
    copies: dict[int, tuple[torch.Tensor, tuple[int, int], torch.Tensor]]  # id -> (tensor, its mark, its copy)


def _mark(t: torch.Tensor) -> tuple[int, int]:
    """Storage and in-place version counter: unchanged means the tensor was not written since."""
    return t.data_ptr(), t._version


def nonfinite(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Names of the floating-point tensors that hold a NaN or an inf. Each tensor's sum is a cheap screen (a NaN
    or an inf always makes it non-finite; one device sync for all); only a tensor it flags, which may merely
    have overflowed, is then checked element by element."""
    named = [(n, t.detach()) for n, t in tensors.items() if t.is_floating_point() and t.numel()]
    if not named:
        return []
    flagged = (~torch.stack([t.sum(dtype=torch.float32) for _, t in named]).isfinite()).tolist()
    suspects = [(n, t) for (n, t), f in zip(named, flagged) if f]
    if not suspects:
        return []
    bad = torch.stack([~torch.isfinite(t).all() for _, t in suspects]).tolist()
    return [n for (n, _), b in zip(suspects, bad) if b]


class Rollback:
    """The newest verified snapshot and the one before it, for one model and its optimizer."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer):
        self.model, self.optimizer = model, optimizer
        self.latest: Snapshot | None = None  # taken at the last read-back, not yet known to give a finite loss
        self.good: Snapshot | None = None  # the one before it: the step after it had a finite loss

    def take(self, step: int) -> Snapshot:
        """Copy the state now. A parameter or optimizer tensor unchanged since the previous snapshot (a frozen
        group) shares that snapshot's copy, so a head-only run copies only the head. Buffers are always copied:
        BatchNorm's kernels update running statistics without bumping the version counter (and they are small)."""
        kept = self.latest.copies if self.latest else {}
        copies = {}

        def copy_of(t: torch.Tensor) -> torch.Tensor:
            mark, old = _mark(t), kept.get(id(t))
            copy = old[2] if old is not None and old[0] is t and old[1] == mark else t.detach().clone()
            copies[id(t)] = (t, mark, copy)
            return copy

        model = {k: copy_of(v) if isinstance(v, nn.Parameter) else v.detach().clone()
                 for k, v in self.model.state_dict(keep_vars=True).items()}
        optim = {p: {k: copy_of(v) if torch.is_tensor(v) else v for k, v in state.items()}
                 for p, state in self.optimizer.state.items()}
        return Snapshot(step, model, optim, copies)

    def start(self, step: int) -> None:
        """The state a run starts from: nothing earlier to go back to."""
        self.latest = self.good = self.take(step)

    def clear(self) -> None:
        """Drop both snapshots (the next run's start takes a new one)."""
        self.latest = self.good = None

    def changed_nonfinite(self) -> list[str]:
        """Parameters written since the newest snapshot (all of them when there is none), and every buffer, that
        hold a NaN or an inf. A snapshot is only taken of a state checked finite, so the others need no look."""
        kept = self.latest.copies if self.latest else {}
        changed = {}
        for name, t in self.model.state_dict(keep_vars=True).items():
            old = kept.get(id(t))
            if not isinstance(t, nn.Parameter) or old is None or old[0] is not t or old[1] != _mark(t):
                changed[name] = t
        return nonfinite(changed)

    def advance(self, step: int) -> None:
        """The newest snapshot gave a finite loss at the next step: it becomes the good one, and the state now
        (checked finite by the caller) becomes the newest."""
        self.good, self.latest = self.latest, self.take(step)

    def restore(self, bad_step: int) -> int:
        """Go back to the newest snapshot whose weights gave a finite loss, given that the weights of step
        `bad_step - 1` did not (or were themselves not finite). Returns the step restored. Freezing changes made
        since stand: optimizer state is restored only for the parameters the optimizer holds now."""
        good = self.latest if bad_step > self.latest.step + 1 else self.good
        self.model.load_state_dict(good.model)
        held = {p for pg in self.optimizer.param_groups for p in pg["params"]}
        self.optimizer.state.clear()
        for p, state in good.optim.items():
            if p in held:
                self.optimizer.state[p] = {k: v.clone() if torch.is_tensor(v) else v for k, v in state.items()}
        self.latest = self.good = good
        return good.step
