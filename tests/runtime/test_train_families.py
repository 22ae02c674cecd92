"""Held-out checks of the #10 families of trouble on the torchvision models (random weights, small input):
freezing changed outside the trainer, modes after a run, divergence, failures mid-run, refused loads, bad labels."""
import dataclasses

import pytest
import torch

import ftlab
from ftlab.runtime.freezing import group_parameters
from ftlab.runtime.train import Trainer

pytestmark = pytest.mark.slow  # 5-30 s per model on 2 CPU cores; ViT-B/16 at 224 px takes minutes
FAMILIES = ["resnet18", "mobilenet_v3_small", "efficientnet_b0", "convnext_tiny", "vit_b_16"]
_NORM = (torch.nn.BatchNorm2d, torch.nn.BatchNorm1d)


def _model(name, classes=3):
    torch.manual_seed(0)
    model = ftlab.get_model(name, num_classes=classes, weights=None)
    if name != "vit_b_16":  # conv nets take any size; ViT-B/16 needs its 224 px
        model.ftlab.preprocess = dataclasses.replace(model.ftlab.preprocess, size=32, resize_size=32)
    return model


def _data(n=12, classes=3):
    g = torch.Generator().manual_seed(0)
    return ftlab.ImageSet(torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8),
                          torch.arange(n) % classes, [str(c) for c in range(classes)])


def _frozen_norm_training(model):
    return [n for n, m in model.named_modules() if isinstance(m, _NORM) and m.training
            and not any(p.requires_grad for p in m.parameters())]


def _finite(model) -> bool:
    return all(torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point())


@pytest.mark.parametrize("name", FAMILIES)
def test_unfreezing_between_fits_trains_and_frozen_norms_stay_put(name):
    model, data = _model(name), _data()
    ftlab.freeze(model)
    ftlab.unfreeze(model, "head")
    trainer = Trainer(model, data, None, lr=0.01, batch_size=6, progress=False, log_every=5)
    trainer.fit(epochs=1)
    assert trainer.history.steps[-1]["mode"] == "cached features"
    assert _frozen_norm_training(model) == []
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    model(model.ftlab.preprocess(data.images[:4]))  # the student's own forward afterwards
    assert all(torch.equal(b, buffers[n]) for n, b in model.named_buffers())
    stage4 = [p for _, p in group_parameters(model, "stage4")]
    before = [p.detach().clone() for p in stage4]
    ftlab.unfreeze(model, "stage4")
    trainer.fit(epochs=1, max_steps=1)
    assert any(not torch.equal(p, b) for p, b in zip(stage4, before)), "stage4 trained after ftlab.unfreeze"
    assert _frozen_norm_training(model) == []


@pytest.mark.parametrize("name", FAMILIES)
def test_divergence_failures_and_bad_input_leave_the_trainer_usable(name, tmp_path):
    model, data = _model(name), _data()
    with pytest.raises(ValueError, match="head predicts 3 classes"):
        Trainer(model, _data(classes=5), progress=False)
    trainer = Trainer(model, data, None, lr=1e6, batch_size=6, progress=False, log_every=3)
    trainer.fit(epochs=3)
    assert _finite(model), "no NaN/inf left in weights or buffers, whatever the status"
    assert trainer.status in ("diverged", "done")
    trainer.set_lr(1e-3)
    calls = []

    def augment(x, g):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("augment broke")
        return x
    trainer.cfg.augment = augment
    with pytest.raises(RuntimeError, match="augment broke"):
        trainer.fit(epochs=1)
    assert trainer.status == "failed" and [r["step"] for r in trainer.history.steps] == list(range(1, trainer.step + 1))
    trainer.fit(epochs=1)
    assert trainer.status == "done" and _finite(model)
    if name == "vit_b_16":
        return  # a 1 GB checkpoint round trip adds nothing the conv nets do not cover
    path = trainer.save(tmp_path / "run.pt")
    other = Trainer(_model(name, classes=4), _data(classes=4), progress=False)
    before = {k: v.clone() for k, v in other.model.state_dict().items()}
    with pytest.raises(ValueError, match="does not fit this model"):
        other.load(path)
    assert all(torch.equal(v, before[k]) for k, v in other.model.state_dict().items())
