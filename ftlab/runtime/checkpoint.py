"""Checkpoint files: written atomically, read without unpickling code, checked against a model before use.

`write` never leaves a half-written file where a good one was; `read` accepts only tensors and plain
data (what `Trainer.save` and `torch.save(model.state_dict())` produce) and says what a file is when
it is something else; `check_model_state` finds every mismatch before a single tensor is copied.
"""
from __future__ import annotations

import contextlib
import os
import pickle
from pathlib import Path

import torch
from torch import nn

from ftlab.runtime import group_optimizer
from ftlab.runtime.freezing import group_names

EXPECTED = "a checkpoint written by Trainer.save(), or a plain torch.save(model.state_dict()) of the same model"


def write(state: dict, path: str | Path) -> Path:
    """torch.save to a temp file beside `path`, then rename over it; an error names the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    except (OSError, RuntimeError) as err:  # torch reports a failed open as a RuntimeError without the path
        raise OSError(f"could not write the checkpoint {path}: {err}") from err
    finally:
        with contextlib.suppress(OSError):  # a read-only folder refuses even the unlink of a missing file
            tmp.unlink(missing_ok=True)  # only left if writing or renaming failed
    return path


def read(path: str | Path, device: torch.device | str = "cpu") -> dict:
    """The dict stored in `path`, loaded with weights_only=True (tensors and plain data only)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as err:
        if "global" in str(err).lower():  # a pickled Python object (e.g. a whole model), not plain data
            raise ValueError(f"{path} holds pickled Python objects, not only tensors (for example a whole model "
                             f"saved with torch.save(model)); ftlab never unpickles code. Expected {EXPECTED}.") from None
        raise ValueError(f"{path} is not a PyTorch checkpoint (damaged, or another format). Expected {EXPECTED}.") from None
    except (RuntimeError, EOFError, ValueError, UnicodeDecodeError):
        raise ValueError(f"{path} is not a PyTorch checkpoint (damaged, or another format). Expected {EXPECTED}.") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a dict. Expected {EXPECTED}.")
    return state


def is_state_dict(state: dict) -> bool:
    """A plain model state dict: parameter and buffer names mapped to tensors."""
    return bool(state) and all(isinstance(k, str) and torch.is_tensor(v) for k, v in state.items())


def check_model_state(model: nn.Module, state: dict, source: str) -> None:
    """Raise ValueError naming every missing, unexpected or differently shaped entry, so that a load
    that would fail half way is refused before anything is copied."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} is {tuple(state[k].shape)} there and {tuple(v.shape)} here" for k, v in own.items()
              if k in state and (not torch.is_tensor(state[k]) or state[k].shape != v.shape)]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} entries ({', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected entries ({', '.join(unexpected[:4])}"
                        f"{', ...' if len(unexpected) > 4 else ''})")
    if shapes:
        problems.append("; ".join(shapes[:4]) + ("; ..." if len(shapes) > 4 else ""))
    if problems:
        raise ValueError(f"{source} does not fit this model: {'; '.join(problems)}. Nothing was changed "
                         f"(a different number of classes changes the head's shape).")


def check_trainer_state(state: dict, model: nn.Module, model_name: str, optimizer: str, path: str | Path) -> set[str]:
    """Check a Trainer.save() file against a trainer's model (family `model_name`) and optimizer kind before
    anything is applied: the model's entries, its frozen names, and that the optimizer state fits the file's
    freezing (on a throwaway optimizer; `requires_grad` is put back). Returns the names the file freezes."""
    if "model_name" not in state or "model" not in state:
        raise ValueError(f"{path} is neither a Trainer.save() checkpoint nor a plain state dict (its keys: "
                         f"{', '.join(map(str, list(state)[:6]))}). Expected {EXPECTED}.")
    if state["model_name"] != model_name:
        raise ValueError(f"{path} holds a {state['model_name']} checkpoint, not {model_name}")
    saved_with = state.get("optimizer_name", optimizer)
    if saved_with != optimizer:
        raise ValueError(f"{path} was trained with {saved_with!r} but this trainer uses {optimizer!r}; "
                         f"make the Trainer with optimizer={saved_with!r}")
    check_model_state(model, state["model"], str(path))
    frozen = set(state["frozen"])
    unknown = frozen - {n for n, _ in model.named_parameters()}
    if unknown:
        raise ValueError(f"{path} freezes parameters this model does not have: {', '.join(sorted(unknown)[:4])}")
    trainable = {n: p.requires_grad for n, p in model.named_parameters()}
    try:
        for name, p in model.named_parameters():
            p.requires_grad_(name not in frozen)
        lrs = dict.fromkeys(group_names(model), 1.0)  # the rates do not matter: only which tensors each group holds
        group_optimizer.build(model, optimizer, 1.0, lrs).load_state_dict(state["optimizer"])
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: its optimizer state does not fit this model ({err}); nothing was changed") from None
    finally:
        for name, p in model.named_parameters():
            p.requires_grad_(trainable[name])
    return frozen
