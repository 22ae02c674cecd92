"""Rollback snapshots on a real model: buffers restored, finiteness covers buffers, frozen tensors shared."""
import torch

import ftlab
from ftlab.runtime.rollback import Rollback, nonfinite


def _setup(model):
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1, momentum=0.9)
    return opt, Rollback(model, opt)


def _train_steps(model, opt, n=2):
    model.train()
    for _ in range(n):
        loss = model(torch.rand(8, 1, 32, 32)).logsumexp(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_restore_brings_back_weights_buffers_and_optimizer_state(glyphnet):
    opt, rb = _setup(glyphnet)
    _train_steps(glyphnet, opt)
    rb.start(2)
    saved = {k: v.clone() for k, v in glyphnet.state_dict().items()}
    momentum = {p: s["momentum_buffer"].clone() for p, s in opt.state.items()}
    _train_steps(glyphnet, opt)
    with torch.no_grad():
        glyphnet.stem[1].running_var.fill_(float("inf"))
    assert rb.changed_nonfinite() == ["stem.1.running_var"], "a buffer counts as not finite"
    assert rb.restore(bad_step=5) == 2
    assert all(torch.equal(v, saved[k]) for k, v in glyphnet.state_dict().items()), "weights and buffers restored"
    assert all(torch.equal(s["momentum_buffer"], momentum[p]) for p, s in opt.state.items())


def test_the_newest_snapshot_is_used_only_once_the_step_after_it_was_finite(glyphnet):
    opt, rb = _setup(glyphnet)
    rb.start(0)
    first = {k: v.clone() for k, v in glyphnet.state_dict().items()}
    _train_steps(glyphnet, opt)
    rb.advance(2)
    # the loss of step 3 was computed on step 2's weights: a NaN there means step 2's weights are bad
    assert rb.restore(bad_step=3) == 0
    assert all(torch.equal(v, first[k]) for k, v in glyphnet.state_dict().items())


def test_frozen_parameters_share_one_copy_across_snapshots(glyphnet):
    ftlab.freeze(glyphnet)
    ftlab.unfreeze(glyphnet, "head")
    opt, rb = _setup(glyphnet)
    rb.start(0)
    _train_steps(glyphnet, opt)
    rb.advance(2)
    stem, head = "stem.0.weight", "head.weight"
    assert rb.latest.model[stem] is rb.good.model[stem], "an unchanged frozen tensor is not copied again"
    assert rb.latest.model[head] is not rb.good.model[head]
    assert rb.changed_nonfinite() == [] and nonfinite({"x": torch.tensor([1.0, float("nan")])}) == ["x"]
