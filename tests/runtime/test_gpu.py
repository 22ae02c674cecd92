"""CUDA only: mixed precision and channels_last training, frozen groups bit-identical on the GPU."""
import pytest
import torch

import ftlab

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def test_cuda_training_uses_autocast_and_keeps_frozen_groups_identical(digits):
    torch.manual_seed(0)
    model = ftlab.get_model("glyphnet", num_classes=10)
    ftlab.freeze_below(model, "stage3")
    trainer = ftlab.Trainer(model, digits.train, digits.val, lr=0.01, batch_size=20, progress=False)
    assert trainer.device.type == "cuda" and trainer.dtype in (torch.bfloat16, torch.float16)
    before = ftlab.snapshot(model)
    trainer.fit(epochs=5)
    assert trainer.evaluate(digits.test)["acc"] > 0.8
    for key, value in before.items():
        if key.startswith(("stem", "stage1", "stage2")):
            assert torch.equal(value, model.state_dict()[key]), key
    assert model.stem[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_the_trainer_picks_the_gpus_native_precision_and_lets_cudnn_pick_algorithms(digits):
    model = ftlab.get_model("glyphnet", num_classes=10)
    trainer = ftlab.Trainer(model, digits.train, digits.val, lr=0.01, batch_size=20, progress=False)
    native_bf16 = torch.cuda.get_device_capability() >= (8, 0)
    assert trainer.dtype == (torch.bfloat16 if native_bf16 else torch.float16)
    assert trainer.scaler.is_enabled() == (not native_bf16), "fp16 trains with a GradScaler, bf16 without"
    assert torch.backends.cudnn.benchmark


def test_resnet18_head_only_on_cached_features_on_the_gpu():
    torch.manual_seed(0)
    model = ftlab.get_model("resnet18", num_classes=4, weights=None)
    ftlab.freeze(model)
    ftlab.unfreeze(model, "head")
    data = ftlab.ImageSet(torch.randint(0, 255, (64, 3, 64, 64), dtype=torch.uint8), torch.arange(64) % 4, list("abcd"))
    trainer = ftlab.Trainer(model, data, lr=0.05, batch_size=16, progress=False, log_every=2)
    trainer.fit(epochs=2)
    assert {r["mode"] for r in trainer.history.steps} == {"cached features"}
