"""The exercises of lessons 7 and 8 grade live ftlab models: keeping the source head, WiSE-FT mixing, a LoRA budget,
BitFit; each shown solution passes and each usual mistake is named."""
import copy

import pytest
import torch
from torch import nn

import ftlab
from ftlab.assessment.bank import Outcome
from ftlab.assessment.exercises import BitFit, KeepSourceHead, LoraBudget, WiseFT


def glyphnet(**kw):
    torch.manual_seed(0)
    return ftlab.get_model("glyphnet", **kw)


@pytest.mark.parametrize("cls,classes", [(KeepSourceHead, None), (LoraBudget, 10), (BitFit, 10)])
def test_each_shown_solution_passes_on_a_pretrained_glyphnet(cls, classes):
    assert cls().check_code(cls().solution(), model=glyphnet(num_classes=classes)).correct


def test_wise_ft_solution_and_mistakes():
    probe, tuned = glyphnet(num_classes=10), glyphnet(num_classes=10)
    with torch.no_grad():
        for p in tuned.parameters():
            p.add_(torch.randn_like(p))
        tuned.stem[1].running_mean.add_(1.0)
    objects = {"probe": probe, "tuned": tuned}
    assert WiseFT().check_code(WiseFT().solution(), **objects).correct
    assert "same object" in WiseFT().check(mixed=tuned, **objects).feedback
    params_only = copy.deepcopy(tuned)
    with torch.no_grad():
        for (_, p), (_, a), (_, b) in zip(params_only.named_parameters(), probe.named_parameters(), tuned.named_parameters()):
            p.copy_(0.5 * a + 0.5 * b)
    found = WiseFT().check(mixed=params_only, **objects)
    assert not found.correct and "running statistics" in found.diagnosis
    swapped = WiseFT(alpha=0.25)
    mixed = copy.deepcopy(tuned)
    a, b = probe.state_dict(), tuned.state_dict()
    mixed.load_state_dict({k: 0.25 * a[k] + 0.75 * b[k] if a[k].is_floating_point() else b[k] for k in b})
    assert "swapped" in swapped.check(mixed=mixed, **objects).feedback
    assert WiseFT(alpha=0.75).check(mixed=mixed, **objects).correct


def test_keep_source_head_mistakes():
    model = glyphnet()
    taken_late = "model.head = nn.Linear(model.head.in_features, 10)\nsource_head = model.head"
    assert "after replacing" in KeepSourceHead().check_code(taken_late, model=model).diagnosis
    model = glyphnet()
    trained = "source_head = model.head\nmodel.head = nn.Linear(192, 10)\ntorch.nn.init.zeros_(source_head.weight)"
    assert "not the pretrained head" in KeepSourceHead().check_code(trained, model=model).feedback


def test_lora_budget_mistakes():
    frozen = glyphnet(num_classes=10)
    ftlab.freeze(frozen)
    ftlab.unfreeze(frozen, "head")
    assert "Freezing layers is not LoRA" in LoraBudget().check(model=frozen).diagnosis
    wide = ftlab.lora(glyphnet(num_classes=10), rank=8)
    found = LoraBudget().check(model=wide)
    assert not found.correct and "lower the rank" in found.diagnosis
    leaky = ftlab.lora(glyphnet(num_classes=10), rank=2)
    leaky.stage4[1][0].base_layer.weight.requires_grad_(True)
    assert "pretrained weights stay frozen" in LoraBudget().check(model=leaky).diagnosis
    assert LoraBudget().check(model=ftlab.lora(glyphnet(num_classes=10), rank=2)).correct


def test_bitfit_mistakes():
    assert BitFit().check(model=ftlab.bitfit(glyphnet(num_classes=10))).correct
    with_scales = glyphnet(num_classes=10)
    with_scales.requires_grad_(False)
    for m in with_scales.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.requires_grad_(True)
    with_scales.head.requires_grad_(True)
    assert "BatchNorm weight is a per-channel scale" in BitFit().check(model=with_scales).diagnosis
    order = "for n, p in model.named_parameters():\n    p.requires_grad_(n.endswith('bias'))\nmodel.requires_grad_(False)"
    result = BitFit().check_code(order, model=glyphnet(num_classes=10))
    assert result.outcome is Outcome.INCORRECT and "frozen" in result.feedback
