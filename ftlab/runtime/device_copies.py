"""One copy of a tensor per device, shared by every trainer that asks for it and freed when none holds it.

Several trainers over the same image sets (a lesson comparing recipes) would otherwise each hold their own device
copy of every set: about 5 GB per trainer at the full profile's size. A copy is made afresh once its source
tensor has been written to since.
"""
from __future__ import annotations

import threading
import weakref

import torch

_copies: dict[tuple[int, str], tuple[weakref.ref, int, weakref.ref]] = {}  # (id(source), device) -> (source, its
# version counter when copied, the copy), all held weakly: the callers' references keep a copy alive
_lock = threading.Lock()


def on_device(source: torch.Tensor, device: torch.device) -> torch.Tensor:
    """`source` on `device`: the copy already made for another caller while that one holds it, else a new one."""
    key = (id(source), str(device))
    with _lock:
        found = _copies.get(key)
        if found is not None:
            kept, version, copy = found[0](), found[1], found[2]()
            if kept is source and version == source._version and copy is not None:
                return copy
        copy = source.to(device)
        for stale in [k for k, (s, _, c) in _copies.items() if s() is None or c() is None]:
            del _copies[stale]
        _copies[key] = (weakref.ref(source), source._version, weakref.ref(copy))
        return copy
