"""The trainer: real fine-tuning whose learning rates and frozen groups can change between any
two optimizer steps of a run in progress.

Design (nanoGPT-style single source of truth): the learning rate of each layer group lives in
`Trainer.base_lr` and `Trainer.lr_mult` and is copied into the optimizer's param groups every
step; the optimizer has one param group per layer group holding exactly that group's trainable
parameters (ftlab.runtime.group_optimizer), re-synced whenever `requires_grad` changes (through the trainer or
behind its back), so frozen parameters are never touched. Requests from other threads (the dashboard) are queued
and applied at the next step boundary. Losses stay on the device and are read back every
`log_every` steps and at the end of every run; a non-finite loss, weight or BatchNorm statistic
rolls the model and optimizer back (ftlab.runtime.rollback). Head-only runs train on cached backbone
outputs (ftlab.runtime.feature_cache). However a run ends, every module is left in the mode the freezing
policy says (ftlab.runtime.freezing.set_mode).
"""
from __future__ import annotations

import contextlib
import math
import numbers
import signal
import threading
import time
import warnings
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ftlab.runtime import checkpoint
from ftlab.runtime import group_optimizer
from ftlab.runtime.data import ImageSet, check_labels
from ftlab.runtime.device import autocast_dtype, configure, describe, pick_device, seed_device
from ftlab.runtime.device_copies import on_device
from ftlab.runtime.feature_cache import FeatureCache
from ftlab.runtime.freezing import check_groups, eval_mode, freeze, group_names, set_mode, unfreeze
from ftlab.runtime.history import History
from ftlab.runtime.measure import score
from ftlab.runtime.models import info, last_linear
from ftlab.runtime.rollback import Rollback

SCHEDULES = ("constant", "cosine")
PROBE_IMAGES = 8  # training images whose outputs are checked finite at the end of each epoch and run


def _positive_lr(lr, what: str = "learning rate") -> float:
    """`lr` if it is a positive finite number; the one message for a bad LR wherever it is given."""
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"{what} must be a positive number, got {lr!r}")
    return float(lr)


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return value


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
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None  # (batch, generator) -> batch,
    # both on the training device: draw with torch.rand(..., generator=g, device=batch.device)
    device: str | None = None  # None picks cuda, then mps, then cpu
    amp: bool = True  # mixed precision on CUDA (bf16 from compute capability 8.0, else fp16 with loss scaling)
    channels_last: bool = True  # memory format for conv nets (faster on GPU, and on CPU here)
    feature_cache: bool = True  # head-only training on cached backbone outputs when the body is frozen
    log_every: int = 10  # steps between reading losses back (and divergence checks)
    seed: int = 0  # shuffling order
    progress: bool = True  # tqdm progress bars
    eval_batch_size: int = 256

    def __post_init__(self):
        """Refuse a setting that would train wrongly or fail later, naming it and the valid choices."""
        _positive_lr(self.lr)
        if not isinstance(self.lr_mult, dict):
            raise ValueError(f"lr_mult must be a dict of group -> multiplier, got {self.lr_mult!r}")
        for group, mult in self.lr_mult.items():
            _positive_lr(mult, f"lr_mult[{group!r}]")
        if self.optimizer not in group_optimizer.OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose 'sgd' or 'adamw'")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose 'constant' or 'cosine'")
        for name, low, high in (("momentum", 0, 1), ("label_smoothing", 0, 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value < high:
                raise ValueError(f"{name} must be a number in [{low}, {high}), got {value!r}")
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay, (int, float)) \
                or not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise ValueError(f"weight_decay must be a number >= 0, got {self.weight_decay!r}")
        for name in ("batch_size", "log_every", "eval_batch_size"):
            _positive_int(getattr(self, name), name)
        if self.augment is not None and not callable(self.augment):
            raise ValueError(f"augment must be a function (images, generator) -> images or None, got {self.augment!r}")


class Status(str, Enum):
    """Where the trainer is; compares equal to its plain string ("running" etc.)."""

    IDLE = "idle"  # constructed, never run
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"  # stop() was asked for
    DIVERGED = "diverged"  # a NaN/inf was rolled back
    INTERRUPTED = "interrupted"  # Ctrl-C / KeyboardInterrupt
    FAILED = "failed"  # an exception (from an augment function, a hook, ...) ended the run; it was raised again
    DONE = "done"

    def __str__(self) -> str:
        return self.value


@dataclass
class PendingStep:
    """A step taken whose loss has not been read back from the device yet."""

    step: int
    loss: torch.Tensor  # 0-dim, on the device
    correct: torch.Tensor  # 0-dim, on the device
    images: int
    lrs: dict[str, float]
    mode: str  # "cached features" or "full"


@dataclass
class Request:
    """A change asked for from any thread (the dashboard's), applied between two optimizer steps."""

    change: Callable[[], None]  # what it does to the trainer's LRs or the model's freezing
    note: str  # how the history's events and the "change" hook describe it


class _Interrupts:
    """For the length of a run (in the main thread): a Ctrl-C or kernel interrupt acts at once, as before, except
    inside `held()`, which holds it until the block ends, so an update is never half-applied. The handler is
    installed once per run, not once per step."""

    def __init__(self):
        self.previous = None  # the handler to pass interrupts to, while installed
        self.holding = self.received = False

    def __enter__(self) -> "_Interrupts":
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
            self.previous = None

    def _handle(self, signum, frame) -> None:
        if self.holding:
            self.received = True
        elif callable(self.previous):
            self.previous(signum, frame)
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def held(self):
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.received:
            self.received = False
            raise KeyboardInterrupt


class Trainer:
    """Fine-tunes `model` (from ftlab.get_model) on an ImageSet; see the module docstring."""

    def __init__(self, model: nn.Module, train: ImageSet, val: ImageSet | None = None,
                 config: TrainConfig | None = None, **overrides):
        self.cfg = replace(config or TrainConfig(), **overrides)
        self.model, self.info = model, info(model)
        self.train_set, self.val_set = train, val
        self._check_data(train, "training set")
        if val is not None:
            self._check_data(val, "validation set", " (pass val=None to train without one)")
        check_groups(model, self.cfg.lr_mult)
        self.device = pick_device(self.cfg.device)
        configure(self.device)
        self.dtype = autocast_dtype(self.device) if self.cfg.amp else None
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)
        model.to(self.device)
        if self.cfg.channels_last:
            model.to(memory_format=torch.channels_last)
        self.base_lr = self.cfg.lr
        self.lr_mult = dict(self.cfg.lr_mult)
        self.optimizer = self._build_optimizer()
        self.history = History()
        self.step, self.epoch = 0, 0
        self.status = Status.IDLE
        self.generator = torch.Generator().manual_seed(self.cfg.seed)  # the shuffling order: indices, on the CPU
        self.augment_generator = torch.Generator(self.device).manual_seed(self.cfg.seed)  # on the batch's device
        self._lock = threading.Lock()
        self._requests: deque[Request] = deque()
        self._resume = threading.Event()
        self._resume.set()
        self._stop = threading.Event()
        self._hooks: dict[str, list[Callable]] = defaultdict(list)
        self._on_device: dict[int, tuple[ImageSet, torch.Tensor, torch.Tensor]] = {}
        self._cache = FeatureCache(model, self.info.head)
        self._rollback = Rollback(model, self.optimizer)
        self._pending: list[PendingStep] = []
        self._interrupts = _Interrupts()
        self._probed = 0  # the step whose outputs were last checked finite (ftlab.runtime.train._outputs_finite)
        self._window = time.perf_counter()  # when the steps now pending started
        self._resync()

    # ---- checks of the data --------------------------------------------------------------
    def _check_data(self, data: ImageSet, what: str, advice: str = "") -> None:
        """A set the model can train or be scored on (ftlab.runtime.data.check_labels against the head's classes)."""
        linear = last_linear(self.head)
        check_labels(data, linear.out_features if linear is not None else None, what, self.info.name, advice)

    # ---- learning rates, freezing and the optimizer ----------------------------------------
    @property
    def lrs(self) -> dict[str, float]:
        """The learning rate of every layer group now."""
        return {g: self.base_lr * self.lr_mult.get(g, 1.0) for g in group_names(self.model)}

    def _build_optimizer(self) -> torch.optim.Optimizer:
        return group_optimizer.build(self.model, self.cfg.optimizer, self.base_lr, self.lrs, self.cfg.momentum,
                                     self.cfg.weight_decay)

    def _resync(self) -> None:
        """Match the optimizer to `requires_grad` now (ftlab.runtime.group_optimizer.sync), and remember the freezing
        seen, to notice the next change."""
        group_optimizer.sync(self.optimizer, self.model)
        self._params = list(self.model.parameters())
        self._trainable = [p.requires_grad for p in self._params]
        head = {id(p) for p in self.head.parameters()}
        self._frozen_body = not any(p.requires_grad for p in self._params if id(p) not in head)
        self._trainable_count = sum(p.numel() for p in self._params if p.requires_grad)

    def _freezing_changed(self) -> bool:
        """Whether `requires_grad` changed behind the trainer's back (ftlab.freeze, requires_grad_, a new head)."""
        if self.status in (Status.RUNNING, Status.PAUSED):  # the cheap check, every step
            return [p.requires_grad for p in self._params] != self._trainable
        params = list(self.model.parameters())
        return (len(params) != len(self._params) or any(a is not b for a, b in zip(params, self._params))
                or [p.requires_grad for p in params] != self._trainable)

    def _notice_freezing(self) -> None:
        """Re-sync after a freezing change made outside the trainer, so the next step trains what is trainable."""
        if self._freezing_changed():
            self._resync()
            set_mode(self.model, self.model.training)
            self._announce("trainable parameters changed outside the trainer; the optimizer now holds exactly the "
                           "trainable ones")

    # ---- control: safe to call from any thread while a run is in progress ----------------
    def _request(self, change: Callable[[], None], note: str) -> None:
        """Apply a change now, or at the next step boundary when a run is in progress."""
        request = Request(change, note)
        with self._lock:
            if self.status in (Status.RUNNING, Status.PAUSED):
                self._requests.append(request)
                return
        self._apply(request)

    def _apply(self, request: Request) -> None:
        request.change()
        self._resync()
        self._announce(request.note)

    def _announce(self, change: str) -> None:
        """Record a change of LRs or freezing in the history's events and tell the "change" hooks."""
        self.history.events.append(f"step {self.step}: {change}")
        self._emit("change", {"step": self.step, "change": change})

    def set_lr(self, lr: float, group: str | None = None) -> None:
        """Set the base LR, or one group's LR (stored as a multiplier of the base)."""
        _positive_lr(lr)
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
        for request in requests:
            self._apply(request)
        if requests:
            set_mode(self.model, True)

    # ---- data and forward passes ----------------------------------------------------------
    def _tensors(self, data: ImageSet) -> tuple[torch.Tensor, torch.Tensor]:
        """Images and labels on the device: one copy per set, shared with other trainers (runtime.device_copies)."""
        entry = self._on_device.get(id(data))
        if entry is None or entry[0] is not data:  # the set is kept alive, so its id cannot be reused
            entry = self._on_device[id(data)] = (data, on_device(data.images, self.device),
                                                 on_device(data.labels, self.device))
        return entry[1], entry[2]

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        x = self.info.preprocess(x)
        return x.contiguous(memory_format=torch.channels_last) if self.cfg.channels_last and x.dim() == 4 else x

    def _autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    @property
    def head(self) -> nn.Module:
        return getattr(self.model, self.info.head)

    def _cached(self) -> bool:
        return self.cfg.feature_cache and self.cfg.augment is None and self._frozen_body

    @torch.no_grad()
    def features(self, data: ImageSet) -> torch.Tensor:
        """Backbone outputs (the head's inputs) for a whole set, computed once per body state."""
        if self.status not in (Status.RUNNING, Status.PAUSED):  # between runs the body may have been edited
            self._cache.notice_edits()
        return self._cache.get(data, lambda: self._backbone(data))

    def _backbone(self, data: ImageSet) -> torch.Tensor:
        x, _ = self._tensors(data)
        head, n = self.head, self.cfg.eval_batch_size
        setattr(self.model, self.info.head, nn.Identity())
        try:
            with eval_mode(self.model), self._autocast():
                return torch.cat([self.model(self._input(x[i:i + n])).float() for i in range(0, len(x), n)])
        finally:
            setattr(self.model, self.info.head, head)

    def _logits(self, data: ImageSet, idx: torch.Tensor, cached: bool) -> torch.Tensor:
        if cached:
            return self.head(self.features(data)[idx])
        x, _ = self._tensors(data)
        xb = x[idx]
        if self.cfg.augment is not None and self.model.training:
            xb = self.cfg.augment(xb, self.augment_generator)
        return self.model(self._input(xb))

    @torch.no_grad()
    def evaluate(self, data: ImageSet) -> dict:
        """Mean loss and accuracy on a whole set, in eval mode (the model's modes are restored after)."""
        self._check_data(data, "evaluation set")
        if self.status not in (Status.RUNNING, Status.PAUSED):
            self._cache.notice_edits()
            if self._freezing_changed():
                self._resync()
        cached = self._cached()
        _, y = self._tensors(data)

        def logits_of(idx: torch.Tensor) -> torch.Tensor:
            with self._autocast():
                return self._logits(data, idx, cached)
        with eval_mode(self.model):
            return score(logits_of, y, self.cfg.eval_batch_size)

    # ---- the loop ----------------------------------------------------------------------------
    def _diverged(self, bad_step: int, what: str) -> None:
        """Roll back to the last state known to give a finite loss, and say so."""
        self._pending.clear()
        self.step = self._rollback.restore(bad_step)
        self.history.truncate(self.step)
        self.epoch = self.history.epochs[-1]["epoch"] if self.history.epochs else 0
        self._cache.body_changed()
        self.status = Status.DIVERGED
        message = (f"{what}: training stopped and the weights of step {self.step} (the last that gave a finite loss) "
                   f"were restored. Try a lower learning rate.")
        self.history.events.append(message)
        warnings.warn(message, RuntimeWarning, stacklevel=4)  # points at the caller of fit()

    def _flush(self, emit: bool = True) -> bool:
        """Read pending losses back and record them; False (after rolling back) if a loss, a weight or a buffer
        is not finite. Rows are committed before any hook runs, so a hook that raises cannot duplicate them."""
        if not self._pending:
            return True
        pending = self._pending
        losses = torch.stack([p.loss for p in pending]).float().tolist()
        correct = torch.stack([p.correct for p in pending]).tolist()
        bad = [p.step for p, loss in zip(pending, losses) if not math.isfinite(loss)]
        if bad:
            self._diverged(bad[0], f"loss became NaN/inf at step {bad[0]}")
            return False
        broken = self._rollback.changed_nonfinite()
        if broken:
            names = ", ".join(broken[:3]) + (f" and {len(broken) - 3} more" if len(broken) > 3 else "")
            self._diverged(self.step + 1, f"weights or BatchNorm statistics became NaN/inf by step {self.step} ({names})")
            return False
        seconds = max(time.perf_counter() - self._window, 1e-9)
        rate = sum(p.images for p in pending) / seconds
        trainable = self._trainable_count
        records = [{"step": p.step, "epoch": self._epoch_at(p.step), "loss": loss, "acc": c / p.images, "lr": p.lrs,
                    "trainable": trainable, "images_per_s": rate, "mode": p.mode}
                   for p, loss, c in zip(pending, losses, correct)]
        with self._interrupts.held():  # a Ctrl-C here must not leave rows and snapshots out of step
            self.history.steps.extend(records)
            self._pending = []
            self._rollback.advance(self.step)
        if emit:
            for record in records:
                self._emit("step", record)
        return True

    @torch.no_grad()
    def _outputs_finite(self) -> bool:
        """Whether the model's outputs on a few training images (eval mode, as it will be used) are finite; if not,
        roll back like any divergence: finite weights can still compute NaN (one step at an absurd learning rate).
        Looked at once per epoch and at the end of a run."""
        if self._probed == self.step:
            return True
        self._probed = self.step
        idx = torch.arange(min(PROBE_IMAGES, len(self.train_set)), device=self.device)
        cached = self._cached()
        with eval_mode(self.head if cached else self.model), self._autocast():  # cached: only the head runs
            logits = self._logits(self.train_set, idx, cached)
        if bool(torch.isfinite(logits).all()):
            return True
        self._diverged(self.step + 1, f"the model's outputs became NaN/inf by step {self.step} (its weights are "
                                      f"finite)")
        return False

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train_set) / self.cfg.batch_size)

    def planned_steps(self, epochs: int, max_steps: int | None = None) -> int:
        """How many steps fit(epochs, max_steps) runs unless stopped."""
        return epochs * self.steps_per_epoch if max_steps is None else min(max_steps, epochs * self.steps_per_epoch)

    def _epoch_at(self, step: int) -> float:
        return step / self.steps_per_epoch

    def _one_step(self, idx: torch.Tensor, factor: float) -> None:
        cached = self._cached()
        _, y = self._tensors(self.train_set)
        group_optimizer.set_lrs(self.optimizer, self.lrs, factor)
        with self._autocast():
            logits = self._logits(self.train_set, idx, cached)
            loss = F.cross_entropy(logits.float(), y[idx], label_smoothing=self.cfg.label_smoothing)
        self.optimizer.zero_grad(set_to_none=True)
        with self._interrupts.held():
            if loss.requires_grad:
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
            if not cached and not self._frozen_body:
                self._cache.body_changed()
            self.step += 1
            lrs = {pg["name"]: pg["lr"] for pg in self.optimizer.param_groups}
            correct = (logits.detach().argmax(1) == y[idx]).sum()
            self._pending.append(PendingStep(self.step, loss.detach(), correct, len(idx), lrs,
                                             "cached features" if cached else "full"))

    def _refuse_while_running(self, what: str) -> None:
        if self.status in (Status.RUNNING, Status.PAUSED):
            raise RuntimeError(f"cannot {what} while a run is in progress (status {self.status}); stop() it first")

    def _check_before_fit(self, epochs: int, max_steps: int | None) -> None:
        self._refuse_while_running("start another fit")
        _positive_int(epochs, "epochs")
        if max_steps is not None:
            _positive_int(max_steps, "max_steps")
        self._check_data(self.train_set, "training set")
        if self.val_set is not None:
            self._check_data(self.val_set, "validation set", " (pass val=None to train without one)")
        broken = self._rollback.changed_nonfinite()  # what changed since the last state checked finite
        if broken:
            raise ValueError(f"the model holds NaN/inf before training ({', '.join(broken[:3])}"
                             f"{', ...' if len(broken) > 3 else ''}); load good weights first "
                             f"(Trainer.load or ftlab.get_model)")

    def fit(self, epochs: int = 1, max_steps: int | None = None) -> History:
        """Train for `epochs` passes over the training set (or until `max_steps` steps).
        Returns the history; stops early on stop(), divergence, or an interrupt. Any other exception ends the
        run with status "failed" and is raised again, with model, optimizer and history consistent."""
        self._check_before_fit(epochs, max_steps)
        seed_device(self.device, self.cfg.seed + self.step)  # dropout etc.: reproducible on the CPU
        per_epoch, total = self.steps_per_epoch, self.planned_steps(epochs, max_steps)
        start_step = self.step
        self._stop.clear()
        self._notice_freezing()  # freezing or the head may have changed outside the trainer since the last run
        with self._lock:
            self.status = Status.RUNNING
        set_mode(self.model, True)
        self._cache.notice_edits()
        self._rollback.start(self.step)
        self._probed = self.step  # the state a run starts from is taken as it is
        self._pending, self._window = [], time.perf_counter()
        bar = tqdm(total=total, desc="training", disable=not self.cfg.progress, leave=False)
        with self._interrupts:  # Ctrl-C acts at once, but never inside an update
            try:
                while self.step - start_step < total and self.status == Status.RUNNING:
                    epoch_started, epoch_step = time.perf_counter(), self.step
                    order = torch.randperm(len(self.train_set), generator=self.generator).to(self.device)
                    for b in range(per_epoch):
                        self._apply_requests()
                        while not self._resume.is_set() and not self._stop.is_set():
                            self.status = Status.PAUSED
                            self._resume.wait(0.05)
                            self._apply_requests()
                        if self._stop.is_set() or self.step - start_step >= total:
                            break
                        self.status = Status.RUNNING
                        self._notice_freezing()
                        if not self._pending:
                            self._window = time.perf_counter()
                        done = (self.step - start_step) / total
                        factor = 0.5 * (1 + math.cos(math.pi * done)) if self.cfg.schedule == "cosine" else 1.0
                        self._one_step(order[b * self.cfg.batch_size:(b + 1) * self.cfg.batch_size], factor)
                        bar.update(1)
                        if len(self._pending) >= self.cfg.log_every and not self._flush():
                            break
                    if self.status == Status.DIVERGED or not self._flush():
                        break
                    if self._stop.is_set():
                        self.status = Status.STOPPED
                        break
                    if self.step - epoch_step == per_epoch:
                        if not self._outputs_finite():
                            break
                        self._end_epoch(epoch_step, epoch_started)
                if self.status in (Status.RUNNING, Status.STOPPED):
                    self._outputs_finite()
            except KeyboardInterrupt:
                self._end_abruptly(Status.INTERRUPTED, "interrupted")
            except BaseException as err:
                self._end_abruptly(Status.FAILED, f"failed ({type(err).__name__}: {err})")
                raise
            finally:
                bar.close()
                with self._lock:
                    if self.status in (Status.RUNNING, Status.PAUSED):
                        self.status = Status.DONE
                try:
                    self._apply_requests()
                finally:
                    set_mode(self.model, True)  # features and evaluation switch modes; leave the policy's
        self._emit("end", {"step": self.step, "status": self.status})
        return self.history

    def _end_abruptly(self, status: Status, how: str) -> None:
        """Record the steps already applied (without running hooks again) and say how the run ended."""
        try:
            self._flush(emit=False)
        finally:
            self._pending = []
            self.status = status
            message = f"{how} at step {self.step}: the model, optimizer and history are consistent up to that step"
            self.history.events.append(message)
            warnings.warn(message, RuntimeWarning, stacklevel=3)

    def _end_epoch(self, epoch_step: int, started: float) -> None:
        self.epoch += 1
        rows = [r for r in self.history.steps if r["step"] > epoch_step]
        record = {"epoch": self.epoch, "step": self.step,
                  "train_loss": sum(r["loss"] for r in rows) / max(len(rows), 1),
                  "train_acc": sum(r["acc"] for r in rows) / max(len(rows), 1),
                  "seconds": time.perf_counter() - started,
                  "trainable": self._trainable_count}
        if self.val_set is not None:
            val = self.evaluate(self.val_set)
            record.update(val_loss=val["loss"], val_acc=val["acc"])
        self.history.epochs.append(record)
        self._emit("epoch", record)

    # ---- checkpoints ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write model, optimizer, LRs, frozen set, history and the shuffling state atomically."""
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                 "optimizer_name": self.cfg.optimizer, "scaler": self.scaler.state_dict(),
                 "frozen": [n for n, p in self.model.named_parameters() if not p.requires_grad],
                 "base_lr": self.base_lr, "lr_mult": self.lr_mult, "step": self.step, "epoch": self.epoch,
                 "history": self.history.__dict__, "model_name": self.info.name,
                 "generator": self.generator.get_state(), "augment_generator": self.augment_generator.get_state()}
        return checkpoint.write(state, path)

    def load(self, path: str | Path) -> None:
        """Restore a checkpoint written by save(), or a plain model state dict of the same architecture (weights
        only; the optimizer's state is then reset). Everything is checked first: a refused file changes nothing."""
        self._refuse_while_running("load a checkpoint")
        state = checkpoint.read(path, self.device)
        if checkpoint.is_state_dict(state):
            checkpoint.check_model_state(self.model, state, str(path))
            self.model.load_state_dict(state)
            self.optimizer.state.clear()
            self._after_load(f"loaded the weights in {path} (a plain state dict); optimizer state reset")
            return
        frozen = checkpoint.check_trainer_state(state, self.model, self.info.name, self.cfg.optimizer, path)
        self.model.load_state_dict(state["model"])
        for name, p in self.model.named_parameters():
            p.requires_grad_(name not in frozen)
        self._resync()
        self.optimizer.load_state_dict(state["optimizer"])
        if "scaler" in state:
            self.scaler.load_state_dict(state["scaler"])
        if "generator" in state:
            self.generator.set_state(state["generator"].cpu())
        if "augment_generator" in state:
            self.augment_generator.set_state(state["augment_generator"].cpu())
        self.base_lr, self.lr_mult = state["base_lr"], dict(state["lr_mult"])
        self.step, self.epoch = state["step"], state["epoch"]
        self.history = History(**state["history"])
        self._after_load(None)

    def _after_load(self, note: str | None) -> None:
        self._resync()
        self._cache.body_changed()
        set_mode(self.model, self.model.training)
        if note:
            self.history.events.append(f"step {self.step}: {note}")

    def release(self) -> None:
        """Free what the trainer keeps for later runs: rollback snapshots, cached features, the optimizer's state
        (momentum), gradients and its hold on the device copies of the data. Model, history and settings stay; a
        later fit or evaluate rebuilds what it needs, the optimizer starting without state."""
        self._refuse_while_running("release")
        self._rollback.clear()
        self._cache.clear()
        self.optimizer.state.clear()
        for p in self.model.parameters():
            p.grad = None
        self._on_device.clear()

    def describe(self) -> str:
        return f"{self.info.name} on {describe(self.device)}" + (f" with {self.dtype} autocast" if self.dtype else "")
