"""The live dashboard without a browser: widget values set from Python fire the same observers a
browser would, while a real run goes on in the dashboard's thread."""
import threading
import time

import pytest
import torch

import ftlab
from ftlab.teaching.dashboard import Dashboard
from ftlab.runtime.train import Trainer


def _until(check, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.01)
    pytest.fail(f"after {timeout} s: {what}")


def _trainer(model, data, head_only=False, **kw):
    if head_only:
        ftlab.freeze(model)
        ftlab.unfreeze(model, "head")
    kw = {"lr": 0.01, "batch_size": 20, "log_every": 1, "progress": False, **kw}
    return Trainer(model, data.train, data.val.subset(torch.arange(50)), **kw)


def _first(rows, condition) -> dict:
    return next(r for r in rows if condition(r))


def test_widgets_change_the_running_trainer_at_the_next_step(glyphnet, digits):
    trainer = _trainer(glyphnet, digits, head_only=True)
    head_only = ftlab.count_parameters(glyphnet)[1]
    dash = Dashboard(trainer, epochs=1000, refresh_s=0.05)
    shown = dash.trainable_label.value
    try:
        dash.start()
        _until(lambda: trainer.step >= 3, "the run starts")
        stem = glyphnet.stem[0].weight.detach().clone()
        stage4 = glyphnet.stage4[0][0].weight.detach().clone()
        asked, points = trainer.step, dash.plotted_points
        dash.toggles["stage4"].value = True
        dash.lr_slider.value = 1e-3
        rows = trainer.history.steps
        _until(lambda: any(r["lr"]["head"] == pytest.approx(1e-3) and r["trainable"] > head_only for r in rows),
               "both changes reach the loop")
        assert _first(rows, lambda r: r["trainable"] > head_only)["step"] <= asked + 2, "at the next step boundary"
        assert _first(rows, lambda r: r["lr"]["head"] == pytest.approx(1e-3))["step"] <= asked + 2
        _until(lambda: dash.plotted_points > points + 2, "the charts keep up")
        assert dash.trainable_label.value != shown
        assert "head 0.001" in dash.lr_label.value and dash.toggles["stage4"].description == "stage4: trainable"
        assert "stem frozen" in dash.lr_label.value and "stem 0.001" not in dash.lr_label.value, "no LR for a frozen group"

        dash.body_lr_slider.value = 0.1  # every group below the head at a tenth of the base LR
        _until(lambda: rows[-1]["lr"]["stage4"] == pytest.approx(1e-4), "the body multiplier reaches the loop")
        assert rows[-1]["lr"]["head"] == pytest.approx(1e-3)
        assert not torch.equal(glyphnet.stage4[0][0].weight, stage4), "an unfrozen group trains"

        dash.toggles["stage4"].value = False
        _until(lambda: rows[-1]["trainable"] == head_only, "stage4 is frozen again")
        at = trainer.step
        frozen = glyphnet.stage4[0][0].weight.detach().clone()
        _until(lambda: trainer.step >= at + 3, "training goes on")
        assert torch.equal(glyphnet.stage4[0][0].weight, frozen), "a frozen group stops changing"
        assert torch.equal(glyphnet.stem[0].weight, stem), "a group frozen throughout never changed"
    finally:
        dash.close()
    assert not dash.running and trainer.status == "stopped"
    assert not any(t.name == "ftlab-dashboard" for t in threading.enumerate())
    assert [r["step"] for r in trainer.history.steps] == list(range(1, trainer.step + 1)), "no lost history"
    drift = dash.drift()
    assert drift["stem"] == 0 and drift["stage4"] > 0 and drift["head"] > 0


def test_buttons_pause_resume_stop_and_start_again(glyphnet, digits):
    trainer = _trainer(glyphnet, digits, batch_size=10)
    dash = Dashboard(trainer, epochs=100)
    try:
        assert dash.pause_button.disabled and dash.stop_button.disabled
        dash.start_button.click()
        _until(lambda: trainer.step >= 2, "Start starts the run")
        assert dash.start_button.disabled
        dash.pause_button.click()
        _until(lambda: trainer.status == "paused", "Pause holds the run")
        at = trainer.step
        time.sleep(0.3)
        assert trainer.step == at and not dash.resume_button.disabled and "paused" in dash.status_label.value
        dash.resume_button.click()
        _until(lambda: trainer.step > at, "Resume goes on")
        dash.stop_button.click()
        assert dash.wait(60) == "stopped"
        assert not dash.start_button.disabled and dash.stop_button.disabled and "stopped" in dash.status_label.value
        stopped_at = trainer.step
        dash.start(max_steps=2)
        assert dash.wait(60) == "done" and trainer.step == stopped_at + 2
        assert [r["step"] for r in trainer.history.steps] == list(range(1, trainer.step + 1))
        assert all(d > 0 for d in dash.drift().values()), "full fine-tuning moves every group"
    finally:
        dash.close()


def test_a_new_dashboard_on_the_same_trainer_stops_the_old_one(glyphnet, digits):
    trainer = _trainer(glyphnet, digits)
    old = Dashboard(trainer, epochs=100)
    old.start()
    _until(lambda: trainer.step >= 2, "the first dashboard's run starts")
    new = Dashboard(trainer)  # what re-running the notebook cell does
    try:
        assert old.closed and not old.running and trainer.status == "stopped"
        assert new.reference["stem.0.weight"] is old.reference["stem.0.weight"], "drift is still from pretrained"
        refreshes = old.refreshes
        new.start(max_steps=3)
        assert new.wait(60) == "done"
        assert old.refreshes == refreshes, "the closed dashboard no longer follows the trainer"
        assert new.plotted_points == trainer.step == len(trainer.history.steps)
        assert sum(map(len, trainer._hooks.values())) == 4, "only the open dashboard's hooks stay subscribed"
    finally:
        new.close()
    assert sum(map(len, trainer._hooks.values())) == 0


def test_an_error_in_the_run_is_shown_and_raised_by_wait(glyphnet, digits):
    trainer = _trainer(glyphnet, digits, head_only=True)

    def fail(t, record):
        if record["step"] == 2:
            raise RuntimeError("hook failed")

    trainer.on("step", fail)
    dash = Dashboard(trainer, epochs=5)
    try:
        dash.start()
        with pytest.raises(RuntimeError, match="hook failed"):
            dash.wait(60)
        assert "hook failed" in dash.status_label.value and not dash.start_button.disabled
    finally:
        dash.close()


def test_redraws_are_throttled_to_a_small_share_of_the_run(glyphnet, digits):
    trainer = _trainer(glyphnet, digits, head_only=True, feature_cache=False)
    dash = Dashboard(trainer, max_steps=60, refresh_s=0.2)
    started = time.perf_counter()
    dash.start()
    assert dash.wait(120) == "done"
    elapsed = time.perf_counter() - started
    dash.close()
    assert 2 <= dash.refreshes <= elapsed / 0.2 + 3, (dash.refreshes, elapsed)
    assert dash.refresh_seconds <= 0.05 * elapsed + 0.2, (dash.refresh_seconds, elapsed)


@pytest.mark.slow
def test_in_a_kernel_the_cell_returns_at_once_and_wait_joins_the_run():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (
        "import threading, time, torch, ftlab\nfrom ftlab.teaching.dashboard import dashboard\ntorch.set_num_threads(1)\n"
        "data = ftlab.load_target('glyph-digits', labels_per_class=10)\n"
        "trainer = ftlab.Trainer(ftlab.get_model('glyphnet', num_classes=10), data.train, data.val, batch_size=20)\n"
        "dash = dashboard(trainer, epochs=2)\n"
        "began = time.perf_counter(); dash.start(); print('returned', time.perf_counter() - began < 0.5)",
        "print(dash.wait(120), trainer.step, len(trainer.history.epochs))",
        "dash.close(); print([t.name for t in threading.enumerate() if t.name == 'ftlab-dashboard'])",
    )]
    nbclient.NotebookClient(nb, timeout=180, kernel_name="python3").execute()
    display, started = nb.cells[0].outputs
    assert "application/vnd.jupyter.widget-view+json" in display["data"] and started["text"] == "returned True\n"
    assert nb.cells[1].outputs[0]["text"] == "done 10 2\n"
    assert nb.cells[2].outputs[0]["text"] == "[]\n"


def test_body_multiplier_and_drift_treat_a_torchvision_head_as_the_head():
    """resnet18 keeps its head in `fc`: the group is still called "head" and must not count as body."""
    from ftlab.bench.timing import synthetic

    model = ftlab.get_model("resnet18", num_classes=3, weights=None)
    data = synthetic(model, 8, 32, num_classes=3)
    trainer = Trainer(model, data, lr=0.01, progress=False)
    dash = Dashboard(trainer)
    try:
        dash.body_lr_slider.value = 0.1
        lrs = trainer.lrs
        assert lrs["head"] == pytest.approx(0.01) and lrs["stem"] == lrs["stage4"] == pytest.approx(0.001)
        assert "head (new)" in dash.drift_plot.value and "fc" not in dash.drift_plot.value
    finally:
        dash.close()
