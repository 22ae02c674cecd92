"""The trainer: real learning, changes between steps of a run in progress, divergence, interrupts,
checkpoints and the frozen-feature cache."""
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

import ftlab
from ftlab.runtime.train import Trainer


def _trainer(model, data, **kw):
    kw = {"lr": 0.05, "batch_size": 20, "progress": False, "log_every": 1, **kw}
    return Trainer(model, data.train, data.val, **kw)


def test_fine_tuning_learns_the_target(glyphnet, digits):
    trainer = _trainer(glyphnet, digits, lr=0.01)
    before = trainer.evaluate(digits.test)["acc"]
    history = trainer.fit(epochs=5)
    after = trainer.evaluate(digits.test)["acc"]
    assert after > max(0.6, before + 0.3), (before, after)
    assert len(history.steps) == trainer.step == 25 and len(history.epochs) == 5
    assert history.epochs[-1]["val_acc"] > 0.6
    assert history.steps[0]["loss"] > history.steps[-1]["loss"]


def test_learning_rate_and_freezing_change_at_the_next_step_of_a_running_fit(glyphnet, digits):
    trainer = _trainer(glyphnet, digits, lr=0.01)
    seen = {}

    def intervene(t, record):
        if record["step"] == 3:
            t.set_lr(0.002)  # from inside the run: queued for the next step boundary
            t.freeze("stem", "stage1")
            seen["stem"] = glyphnet.stem[0].weight.detach().clone()
        if record["step"] == 4:
            seen["lr"] = record["lr"]

    trainer.on("step", intervene)
    trainer.fit(epochs=2)
    assert seen["lr"]["head"] == pytest.approx(0.002) and seen["lr"]["stage2"] == pytest.approx(0.002)
    assert torch.equal(glyphnet.stem[0].weight, seen["stem"]), "frozen at step 3: no change afterwards"
    names = {pg["name"]: pg for pg in trainer.optimizer.param_groups}
    assert names["stem"]["params"] == [] and names["stage1"]["params"] == []
    assert not any(p in trainer.optimizer.state for p in glyphnet.stem.parameters())
    assert [r["step"] for r in trainer.history.steps] == list(range(1, 11)), "history continues"
    assert trainer.history.steps[4]["trainable"] < trainer.history.steps[2]["trainable"]


def test_changes_from_another_thread_apply_while_training(glyphnet, digits):
    ftlab.freeze(glyphnet)
    ftlab.unfreeze(glyphnet, "head")
    trainer = _trainer(glyphnet, digits, lr=0.01, feature_cache=False)
    head_only = sum(p.numel() for p in glyphnet.head.parameters())
    first, changed = threading.Event(), threading.Event()

    def watch(t, record):
        first.set()
        if record["trainable"] > head_only:
            changed.set()

    trainer.on("step", watch)
    run = threading.Thread(target=trainer.fit, kwargs={"epochs": 400})
    run.start()
    assert first.wait(30)
    trainer.unfreeze("stage4")
    trainer.set_lr(0.004, group="stage4")
    assert changed.wait(30), "the change reached the running loop"
    trainer.stop()
    run.join(30)
    assert not run.is_alive() and trainer.status == "stopped"
    rows = trainer.history.steps
    assert rows[-1]["lr"]["stage4"] == pytest.approx(0.004) and rows[0]["lr"]["stage4"] == pytest.approx(0.01)
    assert rows[-1]["trainable"] > rows[0]["trainable"] == head_only
    assert trainer.step < 400 * 5


def test_pause_and_resume(glyphnet, digits):
    trainer = _trainer(glyphnet, digits)
    trainer.on("step", lambda t, r: t.pause() if r["step"] == 2 else None)
    run = threading.Thread(target=trainer.fit, kwargs={"epochs": 2})
    run.start()
    run.join(1.0)
    assert run.is_alive() and trainer.status == "paused" and trainer.step == 2
    trainer.resume()
    run.join(30)
    assert trainer.status == "done" and trainer.step == 10


def _weights_seen(trainer) -> dict[int, dict[str, torch.Tensor]]:
    """The weights as they were when each step's record was read back (the weights of that read-back's step)."""
    seen = {trainer.step: {n: v.clone() for n, v in trainer.model.state_dict().items()}}  # where the run starts
    trainer.on("step", lambda t, r: seen.__setitem__(r["step"], {n: v.clone() for n, v in t.model.state_dict().items()}))
    return seen


def _restored(model, seen, step) -> bool:
    return step in seen and all(torch.equal(v, seen[step][n]) for n, v in model.state_dict().items())


def test_a_diverging_run_stops_and_keeps_the_last_good_weights(glyphnet, digits):
    trainer = _trainer(glyphnet, digits, lr=1e6, log_every=3)
    seen = _weights_seen(trainer)
    history = trainer.fit(epochs=5)
    assert trainer.status == "diverged"
    assert "NaN/inf" in history.events[-1]
    assert all(torch.isfinite(p).all() for p in glyphnet.parameters())
    good_step = trainer.step
    assert good_step % 3 == 0 and good_step < 25
    assert [r["step"] for r in history.steps] == list(range(1, good_step + 1))
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in history.steps)
    assert _restored(glyphnet, seen, good_step), "the model holds exactly the weights of the step it reports"


def test_divergence_after_a_mid_run_unfreeze_restores_the_weights_and_keeps_the_new_freezing(glyphnet, digits):
    ftlab.freeze(glyphnet)
    ftlab.unfreeze(glyphnet, "head")
    trainer = _trainer(glyphnet, digits, lr=0.05, log_every=2)
    seen = _weights_seen(trainer)

    def blow_up(t, record):
        if record["step"] == 4:  # head-only so far; now the whole network at an absurd learning rate
            t.unfreeze()
            t.set_lr(1e8)
    trainer.on("step", blow_up)
    trainer.fit(epochs=5)
    assert trainer.status == "diverged"
    assert trainer.step >= 4 and trainer.history.steps[-1]["step"] == trainer.step
    assert all(torch.isfinite(p).all() for p in glyphnet.parameters())
    assert _restored(glyphnet, seen, trainer.step), "the weights of the reported step, though freezing changed since"
    assert ftlab.trainable_groups(glyphnet) == ftlab.group_names(glyphnet), "the unfreeze request stands"
    held = {id(p) for g in trainer.optimizer.param_groups for p in g["params"]}
    assert all(id(p) in held for p in trainer.optimizer.state), "no optimizer state for a tensor it does not hold"


def test_an_interrupt_leaves_model_optimizer_and_history_consistent(glyphnet, digits):
    trainer = _trainer(glyphnet, digits, optimizer="adamw", lr=1e-3)
    trainer.on("step", lambda t, r: os.kill(os.getpid(), signal.SIGINT) if r["step"] == 4 else None)
    history = trainer.fit(epochs=3)
    assert trainer.status == "interrupted"
    steps = {int(s["step"]) for s in trainer.optimizer.state_dict()["state"].values()}
    assert steps == {trainer.step}, "every parameter was updated exactly as many times as the history says"
    assert history.steps[-1]["step"] == trainer.step
    trainer.fit(epochs=1)  # and training carries on from there
    assert trainer.status == "done"


def test_checkpoints_round_trip_and_are_written_atomically(glyphnet, digits, tmp_path, monkeypatch):
    ftlab.freeze(glyphnet, "stem")
    trainer = _trainer(glyphnet, digits)
    trainer.fit(epochs=1)
    path = trainer.save(tmp_path / "run.pt")
    good = path.read_bytes()

    def crash(obj, f, *args, **kwargs):  # the disk fills up half way through writing
        Path(f).write_bytes(good[: len(good) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        trainer.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == good, "a failed save leaves the previous checkpoint intact"
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"], "and no half-written file behind"

    torch.manual_seed(5)
    fresh = ftlab.get_model("glyphnet", num_classes=10)
    other = _trainer(fresh, digits)
    other.load(path)
    assert torch.equal(fresh.head.weight, glyphnet.head.weight)
    assert not fresh.stem[0].weight.requires_grad and fresh.head.weight.requires_grad
    assert other.step == trainer.step and other.history.steps == trainer.history.steps


def test_head_only_training_uses_cached_features_with_the_same_result(digits):
    results = {}
    for cache in (True, False):
        torch.manual_seed(0)
        model = ftlab.get_model("glyphnet", num_classes=10)
        ftlab.freeze(model)
        ftlab.unfreeze(model, "head")
        trainer = _trainer(model, digits, feature_cache=cache)
        trainer.fit(epochs=2)
        results[cache] = (model.head.weight.detach().clone(), trainer.history.steps[-1]["mode"])
    assert results[True][1] == "cached features" and results[False][1] == "full"
    assert torch.allclose(results[True][0], results[False][0], atol=1e-4)


def test_cache_is_dropped_once_the_body_trains(glyphnet, digits):
    ftlab.freeze(glyphnet)
    ftlab.unfreeze(glyphnet, "head")
    trainer = _trainer(glyphnet, digits)
    trainer.fit(epochs=1)
    trainer.unfreeze("stage4")
    trainer.fit(epochs=1)
    trainer.freeze("stage4")
    trainer.fit(epochs=1)
    modes = [r["mode"] for r in trainer.history.steps]
    assert modes == ["cached features"] * 5 + ["full"] * 5 + ["cached features"] * 5
    full = _trainer(glyphnet, digits, feature_cache=False).evaluate(digits.val)
    assert trainer.evaluate(digits.val) == pytest.approx(full, abs=1e-4), "features recomputed after stage4 moved"


def test_weights_edited_outside_the_trainer_invalidate_the_cache_and_the_snapshots(glyphnet, digits):
    ftlab.freeze(glyphnet)
    ftlab.unfreeze(glyphnet, "head")
    trainer = _trainer(glyphnet, digits)
    trainer.fit(epochs=1)
    before = trainer.evaluate(digits.val)
    with torch.no_grad():  # e.g. a lesson resetting or perturbing the body between two runs
        glyphnet.stage4[1][0].weight.mul_(-1.0)
    full = _trainer(glyphnet, digits, feature_cache=False).evaluate(digits.val)
    after = trainer.evaluate(digits.val)
    assert after == pytest.approx(full, abs=1e-4) and after != pytest.approx(before, abs=1e-4)
    with torch.no_grad():  # a broken edit: the next run refuses to start instead of "restoring" NaN weights
        glyphnet.stage4[1][0].weight.fill_(float("nan"))
    edited = {n: p.detach().clone() for n, p in glyphnet.named_parameters()}
    with pytest.raises(ValueError, match=r"NaN/inf before training \(stage4.1.0.weight\)"):
        trainer.fit(epochs=1)
    assert trainer.status == "done" and trainer.step == 5 and len(trainer.history.steps) == 5
    assert all(torch.equal(p.nan_to_num(), edited[n].nan_to_num()) for n, p in glyphnet.named_parameters())


def test_seeded_runs_are_reproducible_on_the_cpu(digits):
    finals = []
    for _ in range(2):
        torch.manual_seed(0)
        model = ftlab.get_model("glyphnet", num_classes=10)
        _trainer(model, digits, seed=3).fit(epochs=1)
        finals.append(model.head.weight.detach().clone())
    assert torch.equal(*finals)


def test_bad_settings_are_refused_with_clear_messages(glyphnet, digits):
    with pytest.raises(ValueError, match="unknown optimizer 'adam'; choose 'sgd' or 'adamw'"):
        _trainer(glyphnet, digits, optimizer="adam")
    trainer = _trainer(glyphnet, digits)
    with pytest.raises(ValueError, match="positive number"):
        trainer.set_lr(float("nan"))
    with pytest.raises(ValueError, match="valid groups"):
        trainer.unfreeze("layer9")
    with pytest.raises(ValueError, match="unknown event"):
        trainer.on("batch", print)


# ---- issue #10: the trainer never lies -------------------------------------------------------------
_BN = torch.nn.BatchNorm2d


def _bn_buffers(model) -> dict[str, torch.Tensor]:
    return {n: b.clone() for n, b in model.named_buffers()}


def _frozen_bn_in_train_mode(model) -> list[str]:
    return [n for n, m in model.named_modules()
            if isinstance(m, _BN) and not any(p.requires_grad for p in m.parameters()) and m.training]


@pytest.mark.parametrize("how", ["ftlab.unfreeze", "requires_grad_", "in a step hook"])
def test_unfreezing_outside_the_trainer_trains_the_group_at_the_next_step(glyphnet, digits, how):
    ftlab.freeze(glyphnet)
    ftlab.unfreeze(glyphnet, "head")
    trainer = _trainer(glyphnet, digits, lr=0.01)
    trainer.fit(epochs=1)
    before = glyphnet.stage4[1][0].weight.detach().clone()
    if how == "ftlab.unfreeze":  # the README's function, between two fits: "train the head, then unfreeze"
        ftlab.unfreeze(glyphnet, "stage4")
    elif how == "requires_grad_":
        glyphnet.stage4.requires_grad_(True)
    else:
        trainer.on("step", lambda t, r: ftlab.unfreeze(t.model, "stage4") if r["step"] == 6 else None)
    trainer.fit(epochs=1)
    held = {id(p) for pg in trainer.optimizer.param_groups for p in pg["params"]}
    assert all(id(p) in held for p in glyphnet.stage4.parameters()), "stage4 is in the optimizer"
    assert not torch.equal(glyphnet.stage4[1][0].weight, before), "and its weights moved"
    assert trainer.history.steps[-1]["mode"] == "full" and trainer.history.steps[-1]["trainable"] > 2000


def test_freezing_outside_the_trainer_drops_the_group_and_its_state(glyphnet, digits):
    trainer = _trainer(glyphnet, digits, optimizer="adamw", lr=1e-3, weight_decay=0.1)
    trainer.fit(epochs=1)
    ftlab.freeze(glyphnet, "stem", "stage1")
    before = glyphnet.stem[0].weight.detach().clone()
    trainer.fit(epochs=1)
    assert torch.equal(glyphnet.stem[0].weight, before), "frozen weights stay bit-identical under weight decay"
    assert not any(p in trainer.optimizer.state for p in glyphnet.stem.parameters())
    assert any("changed outside the trainer" in e for e in trainer.history.events), "and says so in the history"


@pytest.mark.parametrize("end", [{"epochs": 1}, {"epochs": 3, "max_steps": 7}])
def test_a_head_only_fit_leaves_frozen_batchnorm_in_eval_however_it_ends(digits, end):
    model = ftlab.get_model("glyphnet", num_classes=10)
    ftlab.freeze(model)
    ftlab.unfreeze(model, "head")
    trainer = Trainer(model, digits.train, None, lr=0.01, batch_size=20, progress=False)  # no validation set
    trainer.fit(**end)
    assert model.training and _frozen_bn_in_train_mode(model) == []
    buffers = _bn_buffers(model)
    model(model.ftlab.preprocess(digits.test.images[:16]))  # the student's own forward pass afterwards
    assert all(torch.equal(b, buffers[n]) for n, b in model.named_buffers()), "frozen statistics did not move"
    trainer.evaluate(digits.test)
    assert _frozen_bn_in_train_mode(model) == []


def test_a_huge_learning_rate_rolls_back_buffers_too_and_training_can_resume(digits):
    for seed in range(3):  # some seeds diverged, some ended "done" with inf running statistics
        torch.manual_seed(seed)
        model = ftlab.get_model("glyphnet", num_classes=10)
        trainer = _trainer(model, digits, lr=1e6, log_every=10, seed=seed)
        trainer.fit(epochs=8)
        assert trainer.status == "diverged", (seed, trainer.status)
        assert all(torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point()), seed
        assert torch.isfinite(torch.tensor(trainer.evaluate(digits.val)["loss"]))
        trainer.set_lr(0.01)
        trainer.fit(epochs=1)
        assert trainer.status == "done", seed


def test_a_blow_up_on_the_last_step_is_caught_and_the_next_fit_starts_from_good_weights(glyphnet, digits):
    start = {n: t.clone() for n, t in glyphnet.state_dict().items()}
    trainer = _trainer(glyphnet, digits, log_every=10)
    trainer.cfg.lr = trainer.base_lr = float("inf")  # set_lr refuses inf; an LR finder may still reach one
    trainer.fit(epochs=1, max_steps=1)
    assert trainer.status == "diverged" and trainer.step == 0 and trainer.history.steps == []
    assert all(torch.equal(t, start[n]) for n, t in glyphnet.state_dict().items())
    trainer.set_lr(0.01)
    trainer.fit(epochs=1)
    assert trainer.status == "done" and trainer.step == 5


@pytest.mark.parametrize("whole_epoch", [False, True])
def test_finite_weights_whose_outputs_are_nan_roll_back_like_any_divergence(glyphnet, digits, whole_epoch):
    start = {n: t.clone() for n, t in glyphnet.state_dict().items()}
    size = len(digits.train) if whole_epoch else 20  # one step is then a whole epoch, with its validation
    trainer = _trainer(glyphnet, digits, lr=1e30, batch_size=size, log_every=10)
    epochs = []
    trainer.on("epoch", lambda t, record: epochs.append(record))
    with pytest.warns(RuntimeWarning, match="outputs became NaN/inf by step 1"):
        trainer.fit(epochs=1, max_steps=1)
    assert trainer.status == "diverged" and trainer.step == 0 and trainer.history.steps == []
    assert epochs == [] and trainer.history.epochs == [], "no epoch is reported with NaN outputs"
    assert all(torch.equal(t, start[n]) for n, t in glyphnet.state_dict().items())
    assert trainer.evaluate(digits.val)["loss"] < 10
    trainer.set_lr(0.05)
    trainer.fit(epochs=1, max_steps=2)
    assert trainer.status == "done"


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), 0, -1e-3, "0.1", True])
def test_a_bad_learning_rate_is_refused_at_construction(glyphnet, digits, lr):
    with pytest.raises(ValueError, match="learning rate must be a positive number"):
        _trainer(glyphnet, digits, lr=lr)


@pytest.mark.parametrize("setting, value, message", [
    ("batch_size", 0, "batch_size must be a positive int"), ("log_every", 2.5, "log_every must be a positive int"),
    ("schedule", "cosin", "unknown schedule 'cosin'; choose 'constant' or 'cosine'"),
    ("momentum", 1.5, "momentum must be a number in"), ("lr_mult", {"stem": float("nan")}, r"lr_mult\['stem'\]"),
    ("lr_mult", {"layer9": 0.1}, "valid groups"), ("weight_decay", -1, "weight_decay must be"),
])
def test_other_bad_settings_name_the_setting(glyphnet, digits, setting, value, message):
    with pytest.raises(ValueError, match=message):
        _trainer(glyphnet, digits, **{setting: value})


def _consistent(trainer):
    """History, step counter and optimizer agree: every parameter updated exactly as often as the history says."""
    rows = [r["step"] for r in trainer.history.steps]
    assert rows == list(range(1, trainer.step + 1)), rows
    counts = {int(s["step"]) for s in trainer.optimizer.state_dict()["state"].values() if "step" in s}  # AdamW
    assert counts <= {trainer.step}, counts


@pytest.mark.parametrize("where", ["augment", "step hook", "epoch hook"])
def test_an_exception_mid_run_fails_cleanly_and_the_next_fit_works(glyphnet, digits, where):
    def boom(*args):
        raise RuntimeError("boom")
    calls = {"n": 0}

    def augment(x, g):
        calls["n"] += 1
        if calls["n"] == 3:
            boom()
        return x
    kw = {"augment": augment} if where == "augment" else {}
    trainer = _trainer(glyphnet, digits, optimizer="adamw", lr=1e-3, log_every=2, **kw)
    if where != "augment":
        trainer.on("step" if where == "step hook" else "epoch", lambda t, r: boom() if t.step == 5 else None)
    with pytest.raises(RuntimeError, match="boom"):
        trainer.fit(epochs=3)
    assert trainer.status == "failed" and "RuntimeError: boom" in trainer.history.events[-1]
    _consistent(trainer)
    assert glyphnet.training and _frozen_bn_in_train_mode(glyphnet) == []
    if where != "augment":
        trainer._hooks.clear()
    trainer.fit(epochs=1)
    assert trainer.status == "done"
    _consistent(trainer)


@pytest.mark.parametrize("log_every", [1, 5])
def test_a_keyboard_interrupt_raised_in_a_step_hook_records_each_step_once(glyphnet, digits, log_every):
    trainer = _trainer(glyphnet, digits, optimizer="adamw", lr=1e-3, log_every=log_every)

    def interrupt(t, r):
        if r["step"] == 3:
            raise KeyboardInterrupt
    trainer.on("step", interrupt)
    trainer.fit(epochs=2)
    assert trainer.status == "interrupted"
    _consistent(trainer)
    trainer.off("step", interrupt)
    trainer.fit(epochs=1)
    _consistent(trainer)
    assert trainer.status == "done"


def test_an_empty_training_set_and_labels_beyond_the_head_are_refused_before_any_step(glyphnet, digits):
    empty = digits.train.subset(torch.tensor([], dtype=torch.long))
    with pytest.raises(ValueError, match="training set is empty"):
        Trainer(glyphnet, empty, progress=False)
    with pytest.raises(ValueError, match="validation set is empty"):
        Trainer(glyphnet, digits.train, empty, progress=False)
    wrong = ftlab.ImageSet(digits.train.images, digits.train.labels.clone(), digits.train.classes)
    wrong.labels[7] = 12
    buffers = _bn_buffers(glyphnet)
    with pytest.raises(ValueError, match=r"labels from 0 to 12, but the model's head predicts 10 classes"):
        Trainer(glyphnet, wrong, progress=False)
    trainer = _trainer(glyphnet, digits)
    with pytest.raises(ValueError, match="evaluation set is empty"):
        trainer.evaluate(empty)
    with pytest.raises(ValueError, match="head predicts 10 classes"):
        trainer.evaluate(wrong)
    trainer.train_set = wrong  # swapped in after construction: still checked before the first step
    with pytest.raises(ValueError, match="head predicts 10 classes"):
        trainer.fit(epochs=1)
    assert all(torch.equal(b, buffers[n]) for n, b in glyphnet.named_buffers()), "no buffer moved"
    assert trainer.step == 0 and trainer.history.steps == []
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="epochs must be a positive int"):
            trainer.fit(epochs=bad)


def test_status_is_an_enum_that_compares_as_its_string(glyphnet, digits):
    from ftlab.runtime.train import Status
    trainer = _trainer(glyphnet, digits)
    assert trainer.status is Status.IDLE and trainer.status == "idle" and f"{trainer.status}" == "idle"
    trainer.fit(epochs=1)
    assert trainer.status == "done" and trainer.status in ("done", "stopped") and str(trainer.status) == "done"


def test_fit_and_load_are_refused_while_a_run_is_in_progress(glyphnet, digits, tmp_path):
    trainer = _trainer(glyphnet, digits)
    path = trainer.save(tmp_path / "start.pt")
    errors = []

    def meddle(t, record):
        if record["step"] == 2:
            for attempt in (lambda: t.fit(epochs=1), lambda: t.load(path)):
                with pytest.raises(RuntimeError, match="while a run is in progress") as err:
                    attempt()
                errors.append(str(err.value))
    trainer.on("step", meddle)
    trainer.fit(epochs=1)
    assert len(errors) == 2 and trainer.status == "done" and trainer.step == 5
    _consistent(trainer)


_MEMORY = """
import gc, json, os, torch, ftlab
torch.set_num_threads(1)
digits = ftlab.load_target("glyph-digits", labels_per_class=10, seed=0)
def rss():
    gc.collect()
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
def trained(seed):
    torch.manual_seed(seed)
    trainer = ftlab.Trainer(ftlab.get_model("glyphnet", num_classes=10), digits.train, digits.val, lr=0.05,
                            batch_size=20, log_every=2, progress=False)
    trainer.fit(epochs=1)
    return trainer
trained(0).release()  # warm-up: kernels, caches
start = rss()
trainers = [trained(seed) for seed in range(6)]
held = rss()
for trainer in trainers:
    trainer.release()
weights = sum(t.numel() * t.element_size() for t in trainers[0].model.state_dict().values())
print(json.dumps({"held": (held - start) / 6 / weights, "released": (rss() - start) / 6 / weights}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the RSS with glibc's malloc pinned")
def test_a_released_trainer_holds_little_more_than_its_model():
    """Budget: each trainer kept after release() adds at most 2x its model's weights and buffers to a process
    (measured 1.3-1.4x for glyphnet; a lesson keeps dozens of trainers); unreleased, a fully trained one holds
    about 7x (gradients, momentum, two rollback snapshots). Measured in a fresh process whose malloc hands every freed
    tensor back to the system, so that the RSS shows it."""
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", _MEMORY], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    per_trainer = json.loads(done.stdout.strip().splitlines()[-1])
    assert per_trainer["held"] > 4 and per_trainer["released"] < 2, per_trainer


def test_a_released_trainer_rebuilds_what_it_needs(glyphnet, digits):
    trainer = _trainer(glyphnet, digits, log_every=2)
    trainer.fit(epochs=1, max_steps=2)
    trainer.release()
    assert trainer._rollback.latest is None and not trainer.optimizer.state
    assert all(p.grad is None for p in glyphnet.parameters())
    before = trainer.evaluate(digits.val)
    trainer.fit(epochs=1)
    assert trainer.status == "done" and trainer.evaluate(digits.val)["loss"] < before["loss"]
    with pytest.raises(RuntimeError, match="cannot release while a run is in progress"):
        trainer.on("step", lambda t, r: t.release())
        trainer.fit(epochs=1)
