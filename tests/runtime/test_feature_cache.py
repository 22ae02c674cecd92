"""The frozen-body feature cache: reused while the body is unchanged, recomputed after any change to it."""
import torch

import ftlab
from ftlab.runtime.feature_cache import FeatureCache


def test_features_are_reused_until_the_body_changes_inside_or_outside_the_trainer(glyphnet, digits):
    cache, calls = FeatureCache(glyphnet, "head"), []

    def compute():
        calls.append(1)
        return torch.zeros(1)
    cache.notice_edits()
    first = cache.get(digits.val, compute)
    assert cache.get(digits.val, compute) is first and len(calls) == 1
    cache.notice_edits()
    assert cache.get(digits.val, compute) is first, "looking again without a change keeps the cache"
    with torch.no_grad():
        glyphnet.head.weight.mul_(2)  # the head is not the body
    cache.notice_edits()
    assert cache.get(digits.val, compute) is first
    with torch.no_grad():
        glyphnet.stage4[1][0].weight.mul_(2)  # an in-place edit of the body
    cache.notice_edits()
    cache.get(digits.val, compute)
    assert len(calls) == 2
    glyphnet.train()
    glyphnet(torch.rand(4, 1, 32, 32))  # a forward pass in train mode moves BatchNorm statistics
    cache.notice_edits()
    cache.get(digits.val, compute)
    assert len(calls) == 3
    cache.body_changed()
    cache.get(digits.val, compute)
    cache.get(digits.test, compute)
    assert len(calls) == 5, "one entry per data set, each stale after a change"


def test_the_trainer_computes_features_in_eval_mode_and_leaves_the_policy_modes(glyphnet, digits):
    ftlab.freeze(glyphnet)
    ftlab.unfreeze(glyphnet, "head")
    trainer = ftlab.Trainer(glyphnet, digits.train, progress=False)
    glyphnet.train()
    ftlab.freeze(glyphnet)  # re-applies the policy: frozen BatchNorm in eval
    ftlab.unfreeze(glyphnet, "head")
    buffers = {n: b.clone() for n, b in glyphnet.named_buffers()}
    feats = trainer.features(digits.val)
    assert feats.shape == (len(digits.val), 192)
    assert glyphnet.training and not glyphnet.stem[1].training
    assert all(torch.equal(b, buffers[n]) for n, b in glyphnet.named_buffers())
