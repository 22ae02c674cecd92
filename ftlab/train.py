"""The trainer: real fine-tuning whose learning rates and frozen groups can change between any
two optimizer steps of a run in progress.

Design (nanoGPT-style single source of truth): the learning rate of each layer group lives in
`Trainer.base_lr` and `Trainer.lr_mult` and is copied into the optimizer's param groups every
step; the optimizer has one param group per layer group holding exactly that group's trainable
parameters, re-synced whenever freezing changes, so frozen parameters are never touched.
Requests from other threads (the dashboard) are queued and applied at the next step boundary.
Losses stay on the device and are read every `log_every` steps; a non-finite loss rolls the
model and optimizer back to the newest snapshot whose weights still gave a finite loss.
"""
from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .data import ImageSet
from .device import autocast_dtype, describe, pick_device
from .freeze import (check_groups, count_parameters, freeze, group_names, group_parameters, set_bn_mode,
                     unfreeze)
from .history import History
from .models import info


@dataclass
class TrainConfig:
    lr: float = 1e-2  # base learning rate; group g trains at lr * lr_mult.get(g, 1)
    lr_mult: dict[str, float] = field(default_factory=dict)  # discriminative LR: e.g. {"stem": 0.1}
    optimizer: str = "sgd"  # "sgd" (with momentum) or "adamw"
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 32
    label_smoothing: float = 0.0
    schedule: str = "constant"  # "constant" or "cosine" (decays over the steps of each fit call)
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None  # batch -> batch, on the device
    device: str | None = None  # None picks cuda, then mps, then cpu
    amp: bool = True  # mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling)
    channels_last: bool = True  # memory format for conv nets (faster on GPU, and on CPU here)
    feature_cache: bool = True  # head-only training on cached backbone outputs when the body is frozen
    log_every: int = 10  # steps between reading losses back (and divergence checks)
    seed: int = 0  # shuffling order
    progress: bool = True  # tqdm progress bars
    eval_batch_size: int = 256


@contextlib.contextmanager
def _uninterruptible():
    """Hold a Ctrl-C / kernel interrupt until the block ends, so an update is never half-applied."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []
    previous = signal.signal(signal.SIGINT, lambda *_: received.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


class Trainer:
    """Fine-tunes `model` (from ftlab.get_model) on an ImageSet; see the module docstring."""

    def __init__(self, model: nn.Module, train: ImageSet, val: ImageSet | None = None,
                 config: TrainConfig | None = None, **overrides):
        self.cfg = replace(config or TrainConfig(), **overrides)
        self.model, self.info = model, info(model)
        self.train_set, self.val_set = train, val
        self.device = pick_device(self.cfg.device)
        self.dtype = autocast_dtype(self.device) if self.cfg.amp else None
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)
        model.to(self.device)
        if self.cfg.channels_last:
            model.to(memory_format=torch.channels_last)
        self.base_lr = self.cfg.lr
        self.lr_mult = dict(self.cfg.lr_mult)
        check_groups(model, self.lr_mult)
        self.optimizer = self._build_optimizer()
        self.history = History()
        self.step, self.epoch = 0, 0
        self.status = "idle"  # idle, running, paused, stopped, diverged, interrupted, done
        self.generator = torch.Generator().manual_seed(self.cfg.seed)
        self._lock = threading.Lock()
        self._requests: deque[Callable[[], None]] = deque()
        self._resume = threading.Event()
        self._resume.set()
        self._stop = threading.Event()
        self._hooks: dict[str, list[Callable]] = defaultdict(list)
        self._on_device: dict[int, tuple[ImageSet, torch.Tensor, torch.Tensor]] = {}
        self._features: dict[int, tuple[ImageSet, int, torch.Tensor]] = {}
        self._body_version = 0  # bumped whenever the body's weights may have changed
        self._body_mark: list | None = None  # the body's storage and version counters when last looked at
        self._frozen_body: bool | None = None  # cached answer of _body_frozen(); None after any freezing change
        # Snapshots for rolling back a diverged run. The loss of step k is computed on the weights left by
        # step k-1, so the latest snapshot is only known to be good once the step after it had a finite loss.
        self._latest: dict | None = None  # taken at the last read-back, not yet verified
        self._good: dict | None = None  # the one before it: the next step's loss was finite
        self._pending: list[tuple] = []

    # ---- learning rates and the optimizer -------------------------------------------------
    @property
    def lrs(self) -> dict[str, float]:
        """The learning rate of every layer group now."""
        return {g: self.base_lr * self.lr_mult.get(g, 1.0) for g in group_names(self.model)}

    def _build_optimizer(self) -> torch.optim.Optimizer:
        lrs = self.lrs
        groups = [{"params": [p for _, p in group_parameters(self.model, g) if p.requires_grad], "name": g, "lr": lrs[g]}
                  for g in group_names(self.model)]
        if self.cfg.optimizer == "sgd":
            return torch.optim.SGD(groups, lr=self.base_lr, momentum=self.cfg.momentum, weight_decay=self.cfg.weight_decay)
        if self.cfg.optimizer == "adamw":
            return torch.optim.AdamW(groups, lr=self.base_lr, weight_decay=self.cfg.weight_decay)
        raise ValueError(f"unknown optimizer {self.cfg.optimizer!r}; choose 'sgd' or 'adamw'")

    def _sync_optimizer(self) -> None:
        """Each param group holds exactly its layer group's trainable parameters; dropped ones lose their state."""
        for pg in self.optimizer.param_groups:
            params = [p for _, p in group_parameters(self.model, pg["name"]) if p.requires_grad]
            keep = {id(p) for p in params}
            for p in pg["params"]:
                if id(p) not in keep:
                    self.optimizer.state.pop(p, None)
            pg["params"] = params

    def _apply_lrs(self, factor: float) -> None:
        lrs = self.lrs
        for pg in self.optimizer.param_groups:
            pg["lr"] = lrs[pg["name"]] * factor

    # ---- control: safe to call from any thread while a run is in progress ----------------
    def _request(self, change: Callable[[], None], note: str) -> None:
        def apply():
            change()
            self._frozen_body = None
            self._sync_optimizer()
            self.history.events.append(f"step {self.step}: {note}")
            self._emit("change", {"step": self.step, "change": note})
        with self._lock:
            if self.status in ("running", "paused"):
                self._requests.append(apply)
                return
        apply()

    def set_lr(self, lr: float, group: str | None = None) -> None:
        """Set the base LR, or one group's LR (stored as a multiplier of the base)."""
        if not (lr > 0 and math.isfinite(lr)):
            raise ValueError(f"learning rate must be a positive number, got {lr!r}")
        if group is None:
            self._request(lambda: setattr(self, "base_lr", lr), f"base lr -> {lr:g}")
        else:
            check_groups(self.model, [group])
            self._request(lambda: self.lr_mult.__setitem__(group, lr / self.base_lr), f"{group} lr -> {lr:g}")

    def freeze(self, *groups: str, train_bn: bool = False) -> None:
        check_groups(self.model, groups)
        self._request(lambda: freeze(self.model, *groups, train_bn=train_bn), f"froze {', '.join(groups) or 'all'}")

    def unfreeze(self, *groups: str) -> None:
        check_groups(self.model, groups)
        self._request(lambda: unfreeze(self.model, *groups), f"unfroze {', '.join(groups) or 'all'}")

    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def stop(self) -> None:
        """Ask a run in progress to stop after the current step."""
        self._stop.set()
        self._resume.set()

    def on(self, event: str, fn: Callable[["Trainer", dict], None]) -> None:
        """Subscribe to "step", "epoch", "change" or "end"; fn(trainer, record) runs in the training thread."""
        if event not in ("step", "epoch", "change", "end"):
            raise ValueError(f"unknown event {event!r}; events: step, epoch, change, end")
        self._hooks[event].append(fn)

    def off(self, event: str, fn: Callable[["Trainer", dict], None]) -> None:
        """Unsubscribe a function given to on() (a closed dashboard does this)."""
        if fn in self._hooks[event]:
            self._hooks[event].remove(fn)

    def _emit(self, event: str, record: dict) -> None:
        for fn in list(self._hooks[event]):  # off() may run in another thread
            fn(self, record)

    def _apply_requests(self) -> None:
        with self._lock:
            requests, self._requests = list(self._requests), deque()
        for apply in requests:
            apply()
        if requests:
            self._train_mode()

    # ---- data and forward passes ----------------------------------------------------------
    def _tensors(self, data: ImageSet) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and labels moved to the device once."""
        entry = self._on_device.get(id(data))
        if entry is None or entry[0] is not data:  # the set is kept alive, so its id cannot be reused
            entry = self._on_device[id(data)] = (data, data.images.to(self.device), data.labels.to(self.device))
        return entry[1], entry[2]

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        x = self.info.preprocess(x)
        return x.contiguous(memory_format=torch.channels_last) if self.cfg.channels_last and x.dim() == 4 else x

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None)

    @property
    def head(self) -> nn.Module:
        return getattr(self.model, self.info.head)

    def _body_frozen(self) -> bool:
        """True when only the head trains. Walking every parameter costs more than a cached head step, so the
        answer is kept until a freezing change (a request, load, or the start of a fit)."""
        if self._frozen_body is None:
            head = {id(p) for p in self.head.parameters()}
            self._frozen_body = not any(p.requires_grad for p in self.model.parameters() if id(p) not in head)
        return self._frozen_body

    def _notice_direct_edits(self) -> None:
        """Weights changed outside the trainer between runs (load_state_dict, in-place edits, .to(), forward
        passes in train mode) invalidate the cached features: compare every body tensor's storage and in-place
        version counter (BatchNorm's running statistics change with its num_batches_tracked counter)."""
        head = f"{self.info.head}."
        mark = [(id(t), t.data_ptr(), t._version) for k, t in self.model.state_dict(keep_vars=True).items()
                if not k.startswith(head)]
        if mark != self._body_mark:
            self._body_version += 1
            self._body_mark = mark

    def _cached(self) -> bool:
        return self.cfg.feature_cache and self.cfg.augment is None and self._body_frozen()

    @torch.no_grad()
    def features(self, data: ImageSet) -> torch.Tensor:
        """Backbone outputs (the head's inputs) for a whole set, computed once per body state."""
        cached = self._features.get(id(data))
        if cached is not None and cached[0] is data and cached[1] == self._body_version:
            return cached[2]
        x, _ = self._tensors(data)
        head, was_training = self.head, self.model.training
        self.model.eval()
        setattr(self.model, self.info.head, nn.Identity())
        try:
            with self._autocast():
                out = torch.cat([self.model(self._input(x[i:i + self.cfg.eval_batch_size])).float()
                                 for i in range(0, len(x), self.cfg.eval_batch_size)])
        finally:
            setattr(self.model, self.info.head, head)
            self.model.train(was_training)
        self._features[id(data)] = (data, self._body_version, out)
        return out

    def _logits(self, data: ImageSet, idx: torch.Tensor, cached: bool) -> torch.Tensor:
        if cached:
            return self.head(self.features(data)[idx])
        x, _ = self._tensors(data)
        xb = x[idx]
        if self.cfg.augment is not None and self.model.training:
            xb = self.cfg.augment(xb, self.generator)
        return self.model(self._input(xb))

    def _train_mode(self) -> None:
        self.model.train()
        set_bn_mode(self.model)

    @torch.no_grad()
    def evaluate(self, data: ImageSet) -> dict:
        """Mean loss and accuracy on a whole set, in eval mode."""
        if self.status not in ("running", "paused"):
            self._notice_direct_edits()
        self.model.eval()
        cached = self._cached()
        _, y = self._tensors(data)
        loss = correct = 0.0
        try:
            for i in range(0, len(y), self.cfg.eval_batch_size):
                idx = torch.arange(i, min(i + self.cfg.eval_batch_size, len(y)), device=self.device)
                with self._autocast():
                    logits = self._logits(data, idx, cached).float()
                loss += F.cross_entropy(logits, y[idx], reduction="sum").item()
                correct += (logits.argmax(1) == y[idx]).sum().item()
        finally:
            self._train_mode()
        return {"loss": loss / len(y), "acc": correct / len(y)}

    # ---- the loop ----------------------------------------------------------------------------
    def _snapshot(self) -> dict:
        """Copies of the weights, buffers and optimizer state that a rollback restores. A parameter or optimizer
        tensor unchanged since the previous snapshot (same storage, same in-place version counter: a frozen
        group) shares that snapshot's copy, so a head-only run copies only the head. Buffers are always copied:
        BatchNorm's kernels update running statistics without bumping the counter (and they are small)."""
        kept = self._latest["copies"] if self._latest else {}
        copies = {}

        def copy_of(t: torch.Tensor) -> torch.Tensor:
            mark, old = (t.data_ptr(), t._version), kept.get(id(t))
            copy = old[2] if old is not None and old[0] is t and old[1] == mark else t.detach().clone()
            copies[id(t)] = (t, mark, copy)
            return copy

        model = {k: copy_of(v) if isinstance(v, nn.Parameter) else v.detach().clone()
                 for k, v in self.model.state_dict(keep_vars=True).items()}
        optim = {param: {k: copy_of(v) if torch.is_tensor(v) else v for k, v in state.items()}
                 for param, state in self.optimizer.state.items()}
        return {"model": model, "optim": optim, "step": self.step, "copies": copies}

    def _rollback(self, bad_step: int) -> None:
        """Restore the newest snapshot whose weights gave a finite loss at the next step; freezing changes made
        since then stand (only the weights go back)."""
        good = self._latest if bad_step > self._latest["step"] + 1 else self._good
        self.model.load_state_dict(good["model"])
        held = {p for pg in self.optimizer.param_groups for p in pg["params"]}
        self.optimizer.state.clear()
        for param, state in good["optim"].items():
            if param in held:
                self.optimizer.state[param] = {k: v.clone() if torch.is_tensor(v) else v for k, v in state.items()}
        self._pending.clear()
        self.step = good["step"]
        self.history.truncate(self.step)
        self._body_version += 1
        self.status = "diverged"
        message = (f"loss became NaN/inf at step {bad_step}: training stopped and the weights of step {self.step} "
                   f"(the last that gave a finite loss) were restored. Try a lower learning rate.")
        self.history.events.append(message)
        print(message)

    def _flush(self) -> bool:
        """Read pending losses back and record them; False (after rolling back) if any is not finite."""
        if not self._pending:
            return True
        losses = torch.stack([p[1] for p in self._pending]).float().tolist()
        correct = torch.stack([p[2] for p in self._pending]).tolist()
        bad = [p[0] for p, l in zip(self._pending, losses) if not math.isfinite(l)]
        if bad:
            self._rollback(bad[0])
            return False
        now = time.perf_counter()
        seconds = max(now - self._pending[0][5], 1e-9)
        images = sum(p[3] for p in self._pending)
        trainable = count_parameters(self.model)[1]
        with _uninterruptible():  # a Ctrl-C here (or in a hook) must not record a step twice
            for (step, _, _, n, lrs, _, mode), loss, c in zip(self._pending, losses, correct):
                record = {"step": step, "epoch": self._epoch_at(step), "loss": loss, "acc": c / n, "lr": lrs,
                          "trainable": trainable, "images_per_s": images / seconds, "mode": mode}
                self.history.steps.append(record)
                self._emit("step", record)
            self._pending.clear()
            self._good, self._latest = self._latest, self._snapshot()
        return True

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train_set) / self.cfg.batch_size)

    def planned_steps(self, epochs: int, max_steps: int | None = None) -> int:
        """How many steps fit(epochs, max_steps) runs unless stopped."""
        return epochs * self.steps_per_epoch if max_steps is None else min(max_steps, epochs * self.steps_per_epoch)

    def _epoch_at(self, step: int) -> float:
        return step / self.steps_per_epoch

    def _one_step(self, idx: torch.Tensor, factor: float, started: float) -> None:
        cached = self._cached()
        _, y = self._tensors(self.train_set)
        self._apply_lrs(factor)
        with self._autocast():
            logits = self._logits(self.train_set, idx, cached)
            loss = F.cross_entropy(logits.float(), y[idx], label_smoothing=self.cfg.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        with _uninterruptible():
            if loss.requires_grad:
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
                if not cached and not self._body_frozen():
                    self._body_version += 1
            self.step += 1
            lrs = {pg["name"]: pg["lr"] for pg in self.optimizer.param_groups}
            correct = (logits.detach().argmax(1) == y[idx]).sum()
            self._pending.append((self.step, loss.detach(), correct, len(idx), lrs, started,
                                  "cached features" if cached else "full"))

    def fit(self, epochs: int = 1, max_steps: int | None = None) -> History:
        """Train for `epochs` passes over the training set (or until `max_steps` steps).
        Returns the history; stops early on stop(), divergence, or an interrupt."""
        torch.manual_seed(self.cfg.seed + self.step)  # dropout etc.: reproducible on the CPU
        per_epoch, total = self.steps_per_epoch, self.planned_steps(epochs, max_steps)
        start_step = self.step
        self._stop.clear()
        with self._lock:
            self.status = "running"
        self._train_mode()
        self._frozen_body = None  # the model may have been frozen or unfrozen directly since the last run
        self._notice_direct_edits()
        self._latest = self._good = self._snapshot()  # nothing earlier to go back to
        bar = tqdm(total=total, desc="training", disable=not self.cfg.progress, leave=False)
        try:
            while self.step - start_step < total and self.status == "running":
                epoch_started, epoch_step = time.perf_counter(), self.step
                order = torch.randperm(len(self.train_set), generator=self.generator).to(self.device)
                for b in range(per_epoch):
                    self._apply_requests()
                    while not self._resume.is_set() and not self._stop.is_set():
                        self.status = "paused"
                        self._resume.wait(0.05)
                        self._apply_requests()
                    if self._stop.is_set() or self.step - start_step >= total:
                        break
                    self.status = "running"
                    if not self._pending:
                        window = time.perf_counter()
                    done = (self.step - start_step) / total
                    factor = 0.5 * (1 + math.cos(math.pi * done)) if self.cfg.schedule == "cosine" else 1.0
                    self._one_step(order[b * self.cfg.batch_size:(b + 1) * self.cfg.batch_size], factor, window)
                    bar.update(1)
                    if len(self._pending) >= self.cfg.log_every and not self._flush():
                        break
                if self.status == "diverged" or not self._flush():
                    break
                if self._stop.is_set():
                    self.status = "stopped"
                    break
                if self.step - epoch_step == per_epoch:
                    self._end_epoch(epoch_step, epoch_started)
        except KeyboardInterrupt:
            self._flush()
            self.status = "interrupted"
            message = f"interrupted at step {self.step}: the model and history are consistent up to that step"
            self.history.events.append(message)
            print(message)
        finally:
            bar.close()
            with self._lock:
                if self.status in ("running", "paused"):
                    self.status = "done"
            self._apply_requests()
        self._emit("end", {"step": self.step, "status": self.status})
        return self.history

    def _end_epoch(self, epoch_step: int, started: float) -> None:
        self.epoch += 1
        rows = [r for r in self.history.steps if r["step"] > epoch_step]
        record = {"epoch": self.epoch, "step": self.step,
                  "train_loss": sum(r["loss"] for r in rows) / max(len(rows), 1),
                  "train_acc": sum(r["acc"] for r in rows) / max(len(rows), 1),
                  "seconds": time.perf_counter() - started,
                  "trainable": count_parameters(self.model)[1]}
        if self.val_set is not None:
            val = self.evaluate(self.val_set)
            record.update(val_loss=val["loss"], val_acc=val["acc"])
        self.history.epochs.append(record)
        self._emit("epoch", record)

    # ---- checkpoints ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write model, optimizer, LRs, frozen set and history atomically (temp file + rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "frozen": [n for n, p in self.model.named_parameters() if not p.requires_grad],
                 "base_lr": self.base_lr, "lr_mult": self.lr_mult, "step": self.step, "epoch": self.epoch,
                 "history": self.history.__dict__, "model_name": self.info.name}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            torch.save(state, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)  # only left if writing or renaming failed
        return path

    def load(self, path: str | Path) -> None:
        """Restore a checkpoint written by save() into this trainer's model and optimizer."""
        state = torch.load(path, map_location=self.device, weights_only=True)  # tensors and plain data only
        if state["model_name"] != self.info.name:
            raise ValueError(f"{path} holds a {state['model_name']} checkpoint, not {self.info.name}")
        self.model.load_state_dict(state["model"])
        frozen = set(state["frozen"])
        for name, p in self.model.named_parameters():
            p.requires_grad_(name not in frozen)
        self._sync_optimizer()
        self.optimizer.load_state_dict(state["optimizer"])
        self.base_lr, self.lr_mult = state["base_lr"], state["lr_mult"]
        self.step, self.epoch = state["step"], state["epoch"]
        self.history = History(**state["history"])
        self._body_version += 1
        self._frozen_body = None
        self._train_mode()

    def describe(self) -> str:
        return f"{self.info.name} on {describe(self.device)}" + (f" with {self.dtype} autocast" if self.dtype else "")
