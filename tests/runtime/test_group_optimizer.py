"""The trainer's optimizer: one param group per layer group holding exactly its trainable parameters."""
import pytest
import torch

import ftlab
from ftlab.runtime import group_optimizer


def _held(optimizer):
    return {pg["name"]: {id(p) for p in pg["params"]} for pg in optimizer.param_groups}


def _trainable(model):
    return {g: {id(p) for _, p in ftlab.runtime.freezing.group_parameters(model, g) if p.requires_grad}
            for g in ftlab.group_names(model)}


def test_build_holds_each_layer_groups_trainable_parameters_at_its_rate(glyphnet):
    ftlab.freeze(glyphnet, "stem", "stage1")
    lrs = {g: 0.1 * (i + 1) for i, g in enumerate(ftlab.group_names(glyphnet))}
    for name, kind in (("sgd", torch.optim.SGD), ("adamw", torch.optim.AdamW)):
        optimizer = group_optimizer.build(glyphnet, name, 0.5, lrs, momentum=0.8, weight_decay=0.01)
        assert isinstance(optimizer, kind) and _held(optimizer) == _trainable(glyphnet)
        assert {pg["name"]: pg["lr"] for pg in optimizer.param_groups} == lrs and optimizer.defaults["lr"] == 0.5
    with pytest.raises(ValueError, match="unknown optimizer 'adam'; choose one of 'sgd', 'adamw'"):
        group_optimizer.build(glyphnet, "adam", 0.5, lrs)


def test_sync_follows_freezing_and_keeps_the_state_of_what_still_trains(glyphnet, digits):
    lrs = dict.fromkeys(ftlab.group_names(glyphnet), 0.01)
    optimizer = group_optimizer.build(glyphnet, "sgd", 0.01, lrs)
    x = glyphnet.ftlab.preprocess(digits.train.images[:8])
    torch.nn.functional.cross_entropy(glyphnet(x), digits.train.labels[:8]).backward()
    optimizer.step()
    head = glyphnet.head.weight
    momentum = optimizer.state[head]["momentum_buffer"].clone()
    ftlab.freeze(glyphnet, "stem")
    group_optimizer.sync(optimizer, glyphnet)
    assert _held(optimizer) == _trainable(glyphnet)
    assert not any(p in optimizer.state for p in glyphnet.stem.parameters()), "a frozen parameter loses its state"
    assert torch.equal(optimizer.state[head]["momentum_buffer"], momentum)
    ftlab.unfreeze(glyphnet, "stem")
    group_optimizer.sync(optimizer, glyphnet)
    assert _held(optimizer) == _trainable(glyphnet)


def test_set_lrs_copies_each_groups_rate_times_the_schedule(glyphnet):
    lrs = {g: 0.1 * (i + 1) for i, g in enumerate(ftlab.group_names(glyphnet))}
    optimizer = group_optimizer.build(glyphnet, "sgd", 0.1, dict.fromkeys(lrs, 1.0))
    group_optimizer.set_lrs(optimizer, lrs, 0.5)
    assert {pg["name"]: pg["lr"] for pg in optimizer.param_groups} == pytest.approx({g: v / 2 for g, v in lrs.items()})
