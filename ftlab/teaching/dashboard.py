"""Live fine-tuning dashboard: watch a real run, and freeze groups or change learning rates while it trains.

Threading design, and why. While a cell runs, the kernel handles no widget message from the browser, so a
loop in a cell would see a slider move only when it ends; JupyterLab >= 4.4 with ipykernel >= 7 runs widget
callbacks on subshell threads instead (jupyterlab#17363), concurrently with the cell, which is what corrupts
matplotlib figures (jupyterlab#19719). So `start()` (the Start button) runs `trainer.fit` in a background
thread: the cell returns at once and widget messages are handled live, with or without subshells. Callbacks
only call the trainer's thread-safe methods (set_lr, freeze, unfreeze, pause, resume, stop), applied at its
next optimizer step: no restart, no lost history, a consistent optimizer. All the page shows is widget values
(HTML holding SVG charts, labels, a progress bar), never print or `with out:`, which from a thread land in
whichever cell runs now (ipywidgets#2358). The charts are SVG strings (ftlab.teaching.dashboard_svg), not matplotlib,
which is not thread-safe and takes ~0.2 s a frame on a CPU; the training thread's step hook redraws them at
most every `refresh_s` and within `budget` of the run's time, under a lock, so one thread draws at a time.
Interrupts reach only the main thread, so `wait()` (nbclient needs it to join the run) turns Ctrl-C into
`trainer.stop()`; `close()`, and a new dashboard on the same trainer (re-running the cell), stop and join
the thread, which leaves the model at a step boundary.
"""
from __future__ import annotations

import html
import math
import threading
import time
import weakref
from dataclasses import dataclass, replace

import ipywidgets as w
import torch

from ftlab.teaching.dashboard_svg import curves, drift_bars
from ftlab.runtime.freezing import group_names, trainable_groups
from ftlab.runtime.measure import Drift, count_parameters
from ftlab.runtime.train import Trainer


@dataclass
class DashboardConfig:
    epochs: int = 10  # passes over the training set that Start runs
    max_steps: int | None = None  # or stop after this many steps
    refresh_s: float = 0.5  # shortest time between two redraws of the charts and numbers
    budget: float = 0.02  # largest share of the training thread's time that redraws may take
    lr_min: float = 1e-5  # range of the learning-rate slider
    lr_max: float = 1.0
    max_points: int = 300  # points per plotted line; longer runs are averaged into this many
    join_s: float = 60.0  # how long close() waits for the step in progress to finish


_ACTIVE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # trainer -> its open dashboard
_syncing = threading.local()  # set while the dashboard itself moves a control, so no request is sent


def _relay(ref: weakref.ref, method: str):
    """A trainer hook that forwards to an open dashboard without keeping a closed one alive."""
    def hook(trainer, record):
        dash = ref()
        if dash is not None and not dash.closed:
            getattr(dash, method)(record)
    return hook


def _descendants(widget: w.Widget) -> list[w.Widget]:
    """A widget and every widget inside it, innermost first (the order to close them in)."""
    return [d for child in getattr(widget, "children", ()) for d in _descendants(child)] + [widget]


class Dashboard:
    """Widgets that control `trainer` and show its run live; `dash.widget` is what a notebook displays."""

    def __init__(self, trainer: Trainer, config: DashboardConfig | None = None,
                 reference: dict[str, torch.Tensor] | None = None, **overrides):
        self.trainer, self.cfg = trainer, replace(config or DashboardConfig(), **overrides)
        previous = _ACTIVE.get(trainer)
        if previous is not None:
            previous.close()
        # re-running the cell: drift stays measured from the same weights
        self.drift = previous.drift if reference is None and previous is not None else Drift(trainer.model, reference)
        self.reference = self.drift.reference
        self.closed, self.error, self._thread, self._in_run, self._paused = False, None, None, False, False
        self.refreshes, self.refresh_seconds, self._next_refresh, self._marks = 0, 0.0, 0.0, []
        self._lock, self._fit_start, self._plotted = threading.Lock(), trainer.step, 0
        self._build()
        ref = weakref.ref(self)
        self._hooks = [(event, _relay(ref, method)) for event, method in (
            ("step", "_on_step"), ("epoch", "_on_step"), ("change", "_on_change"), ("end", "_on_end"))]
        for event, hook in self._hooks:
            trainer.on(event, hook)
        _ACTIVE[trainer] = self
        self.refresh()

    # ---- widgets ------------------------------------------------------------------------------
    def _build(self) -> None:
        t, cfg = self.trainer, self.cfg
        trainable = set(trainable_groups(t.model))
        self.toggles = {g: w.ToggleButton(value=g in trainable, layout=w.Layout(width="auto", flex="0 0 auto"),
                                          tooltip=f"click to freeze or unfreeze {g}") for g in group_names(t.model)}
        for group, toggle in self.toggles.items():
            self._style_toggle(group)
            toggle.observe(lambda change, g=group: self._toggled(g, change["new"]), "value")
        *self._body, self._head = group_names(t.model)  # the head is the last group; the body is below it
        lo, hi = min(cfg.lr_min, t.base_lr), max(cfg.lr_max, t.base_lr)
        self.lr_slider = w.FloatLogSlider(value=t.base_lr, base=10, min=math.log10(lo), max=math.log10(hi), step=0.1,
                                          description="base LR", readout_format=".1e", continuous_update=False)
        self.body_lr_slider = w.FloatLogSlider(
            value=t.lr_mult.get(self._body[0], 1.0), base=10, min=-3, max=0, step=0.25, readout_format=".3g",
            description="body LR ×", continuous_update=False,
            tooltip="learning rate of every group below the head, as a multiple of the base LR")
        self.lr_slider.observe(self._lr_moved, "value")
        self.body_lr_slider.observe(self._body_lr_moved, "value")
        small = {"layout": w.Layout(width="90px")}
        self.start_button = w.Button(description="Start", button_style="success", **small)
        self.pause_button = w.Button(description="Pause", button_style="warning", **small)
        self.resume_button = w.Button(description="Resume", button_style="info", **small)
        self.stop_button = w.Button(description="Stop", button_style="danger", **small)
        for button, action in ((self.start_button, self.start), (self.pause_button, self.pause),
                               (self.resume_button, self.resume), (self.stop_button, self.stop)):
            button.on_click(lambda _, action=action: self._click(action))
        self.progress = w.IntProgress(value=0, min=0, max=1, layout=w.Layout(width="160px"))
        self.status_label, self.trainable_label, self.lr_label, self.events_label = (w.HTML() for _ in range(4))
        self.loss_plot, self.acc_plot, self.drift_plot = (w.HTML() for _ in range(3))
        wrap = w.Layout(flex_flow="row wrap")
        self.widget = w.VBox([
            w.HTML(f"<b>Live fine-tuning: {html.escape(t.describe())}</b>"),
            w.HBox([self.start_button, self.pause_button, self.resume_button, self.stop_button, self.progress]),
            self.status_label,
            w.HBox([w.Label("groups:"), *self.toggles.values()], layout=wrap),
            self.trainable_label,
            w.HBox([self.lr_slider, self.body_lr_slider], layout=wrap),
            self.lr_label,
            w.HBox([self.loss_plot, self.acc_plot, self.drift_plot], layout=wrap),
            self.events_label,
        ])
        self._set_buttons()

    def _style_toggle(self, group: str) -> None:
        toggle = self.toggles[group]
        toggle.description = f"{group}: {'trainable' if toggle.value else 'frozen'}"
        toggle.button_style = "success" if toggle.value else ""

    def _set_buttons(self) -> None:
        active = self.active
        self.start_button.disabled = active
        self.pause_button.disabled = not active or self._paused
        self.resume_button.disabled = not (active and self._paused)
        self.stop_button.disabled = not active

    def _click(self, action) -> None:
        """Run a button's action; an error is shown in the status line (a callback cannot raise to a cell)."""
        try:
            action()
        except (RuntimeError, ValueError) as err:
            self.status_label.value = f'<span style="color:#d62728">{html.escape(str(err))}</span>'

    # ---- what the controls do: trainer calls only ----------------------------------------------
    def _toggled(self, group: str, trainable: bool) -> None:
        self._style_toggle(group)
        if not getattr(_syncing, "on", False):
            (self.trainer.unfreeze if trainable else self.trainer.freeze)(group)

    def _lr_moved(self, change: dict) -> None:
        if not getattr(_syncing, "on", False):
            self.trainer.set_lr(change["new"])

    def _body_lr_moved(self, change: dict) -> None:
        if not getattr(_syncing, "on", False):
            for group in self._body:  # stored as a multiple of the base when applied
                self.trainer.set_lr(self.lr_slider.value * change["new"], group=group)

    @property
    def running(self) -> bool:
        """Whether this dashboard's training thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def active(self) -> bool:
        """Whether a run is in progress: one this dashboard started, or a fit called elsewhere."""
        return self._in_run or self.trainer.status in ("running", "paused")

    def start(self, epochs: int | None = None, max_steps: int | None = None) -> None:
        """Run trainer.fit in a background thread and return at once; the trainer's own tqdm bar is
        turned off, since a thread cannot place it in this cell (the progress bar here replaces it)."""
        if self.closed:
            raise RuntimeError("this dashboard is closed; make a new one")
        if self.active:
            raise RuntimeError("the trainer is already running")
        epochs = epochs or self.cfg.epochs
        max_steps = max_steps if max_steps is not None else self.cfg.max_steps
        total = self.trainer.planned_steps(epochs, max_steps)
        self._fit_start, self.progress.max, self.progress.value = self.trainer.step, max(total, 1), 0
        self.trainer.cfg = replace(self.trainer.cfg, progress=False)
        self.trainer.resume()
        self.error, self._in_run, self._paused = None, True, False
        self._thread = threading.Thread(target=self._run, args=(epochs, max_steps), name="ftlab-dashboard", daemon=True)
        self._thread.start()
        self._set_buttons()
        self.status_label.value = "starting…"

    def _run(self, epochs: int, max_steps: int | None) -> None:
        try:
            self.trainer.fit(epochs=epochs, max_steps=max_steps)
        except Exception as err:  # shown on the page and raised again by wait()
            self.error, self._in_run = err, False
            if not self.closed:
                self.refresh()

    def pause(self) -> None:
        """Hold the run at the next step boundary (controls still apply while paused)."""
        self.trainer.pause()
        self._paused = True
        self._show_numbers()

    def resume(self) -> None:
        self.trainer.resume()
        self._paused = False
        self._show_numbers()

    def stop(self) -> None:
        """Ask the run to stop after the step in progress; wait() joins it."""
        self.trainer.stop()

    def wait(self, timeout: float | None = None) -> str:
        """Block until the run ends (under nbclient a cell returns at once); Ctrl-C stops the run.
        Returns the trainer's status, or raises the error that ended the run."""
        if self._thread is None:
            return self.trainer.status
        try:
            self._thread.join(timeout)
        except KeyboardInterrupt:
            self.trainer.stop()
            self._thread.join(self.cfg.join_s)
            raise
        if self.error is not None:
            raise self.error
        return self.trainer.status

    def close(self) -> None:
        """Stop and join the run this dashboard started, then close its widgets."""
        if self.closed:
            return
        self.closed = True
        try:
            if self.running:
                self.trainer.stop()
                self._thread.join(self.cfg.join_s)
                if self._thread.is_alive():
                    raise RuntimeError(f"the training thread did not stop within {self.cfg.join_s} s")
        finally:  # even then: detach from the trainer and close the widgets
            for event, hook in self._hooks:
                self.trainer.off(event, hook)
            if _ACTIVE.get(self.trainer) is self:
                del _ACTIVE[self.trainer]
            for widget in _descendants(self.widget):
                widget.close()

    # ---- what the page shows --------------------------------------------------------------------
    @property
    def plotted_points(self) -> int:
        """How many training steps the loss chart shows now (before averaging long runs)."""
        return self._plotted

    def _on_step(self, record: dict) -> None:
        if time.perf_counter() >= self._next_refresh:
            self.refresh()

    def _on_change(self, record: dict) -> None:
        self._marks.append((record["step"], record["change"]))
        self._sync_controls()
        if self.active:
            self._show_numbers()
        else:
            self.refresh()

    def _on_end(self, record: dict) -> None:
        self._in_run = self._paused = False
        self.refresh()

    def _sync_controls(self) -> None:
        """Controls follow the trainer (changes made in code show too), without sending requests back."""
        _syncing.on = True
        try:
            trainable = set(trainable_groups(self.trainer.model))
            for group, toggle in self.toggles.items():
                toggle.value = group in trainable
            self.lr_slider.value = self.trainer.base_lr
            mults = {self.trainer.lr_mult.get(g, 1.0) for g in self._body}
            if len(mults) == 1:
                self.body_lr_slider.value = mults.pop()
        finally:
            _syncing.on = False

    def _show_numbers(self) -> None:
        t = self.trainer
        total, n_trainable = count_parameters(t.model)
        self.trainable_label.value = (f"trainable parameters: <b>{n_trainable:,}</b> of {total:,} "
                                      f"({100 * n_trainable / max(total, 1):.1f}%)")
        trainable = set(trainable_groups(t.model))
        self.lr_label.value = "learning rates: " + " · ".join(
            f"{g} {lr:.2g}" if g in trainable else f'<span style="color:#999">{g} frozen</span>' for g, lr in t.lrs.items())
        last = t.history.steps[-1] if t.history.steps else {}
        status = t.status if not (self._paused and self.active) else "paused"
        status = f"error: {self.error!r}" if self.error is not None else status
        color = "#d62728" if self.error is not None or t.status == "diverged" else "inherit"
        self.status_label.value = (f'<span style="color:{color}"><b>{html.escape(status)}</b></span> · step {t.step} · '
                                   f"epoch {last.get('epoch', 0):.1f} · {last.get('images_per_s', 0):.0f} images/s · "
                                   f"{html.escape(t.describe())}")
        self.progress.value = min(max(t.step - self._fit_start, 0), self.progress.max)
        events = "<br>".join(html.escape(e) for e in t.history.events[-4:])
        self.events_label.value = f'<div style="color:#666;font-size:90%;line-height:1.4">{events}</div>'
        self._set_buttons()

    def refresh(self) -> None:
        """Redraw the charts and numbers from the trainer's history (the step hook calls this, throttled)."""
        with self._lock:
            started = time.perf_counter()
            t = self.trainer
            self._plotted = len(t.history.steps)
            self.loss_plot.value, self.acc_plot.value = curves(t.history, max(t.step, 10), self._marks, self.cfg.max_points)
            self.drift_plot.value = drift_bars(self.drift(), set(trainable_groups(t.model)), self._head)
            self._show_numbers()
            cost = time.perf_counter() - started
            self.refreshes, self.refresh_seconds = self.refreshes + 1, self.refresh_seconds + cost
            self._next_refresh = time.perf_counter() + max(self.cfg.refresh_s, cost / self.cfg.budget)

    def _ipython_display_(self) -> None:
        """A Dashboard left as a cell's last expression shows its widgets."""
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        return f"Dashboard({self.trainer.describe()}, status {self.trainer.status})"


def dashboard(trainer: Trainer, config: DashboardConfig | None = None, **overrides) -> Dashboard:
    """Build a Dashboard for `trainer`, display it, and return it: `dash = dashboard(trainer, epochs=20)`."""
    from IPython.display import display

    dash = Dashboard(trainer, config, **overrides)
    display(dash.widget)
    return dash
