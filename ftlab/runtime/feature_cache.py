"""The frozen-body feature cache: a data set's backbone outputs, computed once per state of the body.

While only the head trains, every step would push the same images through the same frozen body; the
cache keeps those outputs per data set. It is valid while the body is unchanged: the trainer bumps
`version` whenever it changes the body itself, and `notice_edits` catches changes made outside it
(load_state_dict, in-place edits, .to(), forward passes in train mode) by fingerprinting the body.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class FeatureCache:
    """Backbone outputs per data set, tagged with the body version they were computed at."""

    def __init__(self, model: nn.Module, head: str):
        self.model, self._head = model, f"{head}."
        self.version = 0  # bumped whenever the body's weights or buffers may have changed
        self._mark: list | None = None  # the body's storage and version counters when last looked at
        self._store: dict[int, tuple[object, int, torch.Tensor]] = {}  # id(data) -> (data, version, features)

    def body_changed(self) -> None:
        """The trainer changed the body (a training step, a rollback, a load): every cached output is stale."""
        self.version += 1

    def notice_edits(self) -> None:
        """Compare every body tensor's storage and in-place version counter with the last look (BatchNorm's
        running statistics change with its num_batches_tracked counter); any difference makes the cache stale."""
        mark = [(id(t), t.data_ptr(), t._version) for k, t in self.model.state_dict(keep_vars=True).items()
                if not k.startswith(self._head)]
        if mark != self._mark:
            self.body_changed()
            self._mark = mark

    def clear(self) -> None:
        """Drop every cached output (they are computed again when asked for)."""
        self._store.clear()

    def get(self, data, compute: Callable[[], torch.Tensor]) -> torch.Tensor:
        """The cached features of `data` if computed at the current version, else `compute()` stored."""
        found = self._store.get(id(data))
        if found is not None and found[0] is data and found[1] == self.version:  # data is kept alive: ids stay unique
            return found[2]
        out = compute()
        self._store[id(data)] = (data, self.version, out)
        return out
