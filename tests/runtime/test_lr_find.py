"""The learning-rate range test: an exponential sweep on a copy, a suggestion on the falling part of the
curve, and the trainer it was given left exactly as it was."""
import pytest
import torch

import ftlab
from ftlab.runtime.lr_find import lr_find


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: on the shared 2-core machine two threads spin and cost 10x the CPU time."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data():
    return ftlab.load_target("glyph-digits", labels_per_class=10)


def trainer_for(data, head_only=False, **kw):
    torch.manual_seed(0)
    model = ftlab.get_model("glyphnet", num_classes=10)
    if head_only:
        ftlab.freeze(model)
        ftlab.unfreeze(model, "head")
    return ftlab.Trainer(model, data.train, lr=0.01, batch_size=20, progress=False, **kw)


def state(t):
    return ({k: v.clone() for k, v in t.model.state_dict().items()}, t.step, len(t.history.steps), t.base_lr,
            dict(t.lr_mult), [n for n, p in t.model.named_parameters() if p.requires_grad],
            {k: v.clone() for k, v in t.optimizer.state_dict()["state"].get(0, {}).items()})


def same(a, b):
    return (all(torch.equal(a[0][k], b[0][k]) for k in a[0]) and a[1:6] == b[1:6]
            and all(torch.equal(a[6][k], b[6][k]) for k in a[6]))


@pytest.mark.slow
def test_sweep_is_exponential_and_the_suggestion_is_on_the_falling_part(data):
    t = trainer_for(data)
    t.fit(epochs=1)  # a trainer with history and optimizer state: none of it may change
    before = state(t)
    found = lr_find(t, num_steps=60)
    assert same(state(t), before)
    ratios = [b / a for a, b in zip(found.lrs, found.lrs[1:])]
    assert found.lrs[0] == pytest.approx(1e-5) and max(ratios) == pytest.approx(min(ratios))
    assert found.suggested <= found.min_loss_lr / 10 + 1e-12 and found.suggested <= found.steepest_lr
    i = found.lrs.index(found.steepest_lr)
    assert found.losses[i] < found.losses[0]  # the loss is falling there
    assert 1e-3 <= found.suggested <= 0.1  # the lesson's sweep finds its best rates here


@pytest.mark.slow
def test_stops_once_the_loss_blows_up(data):
    found = lr_find(trainer_for(data), end_lr=1e4, num_steps=100)
    assert len(found.lrs) < 100 and found.losses[-1] > 4 * min(found.losses)


def test_head_only_uses_the_cached_features_and_keeps_multipliers(data):
    t = trainer_for(data, head_only=True, lr_mult={"head": 2.0})
    before = state(t)
    found = lr_find(t, num_steps=30)
    assert same(state(t), before) and len(found.lrs) == 30


@pytest.mark.parametrize("kw,match", [({"start_lr": 0}, "start_lr"), ({"start_lr": 1, "end_lr": 0.1}, "start_lr"),
                                      ({"num_steps": 2}, "num_steps"), ({"smooth": 1.0}, "smooth")])
def test_bad_arguments_say_what_is_wrong_and_touch_nothing(data, kw, match):
    t = trainer_for(data)
    before = state(t)
    with pytest.raises(ValueError, match=match):
        lr_find(t, **kw)
    assert same(state(t), before)


def test_refuses_while_the_trainer_runs(data):
    t = trainer_for(data)
    t.status = "running"
    with pytest.raises(RuntimeError, match="running"):
        lr_find(t)
