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


def test_helpers_follow_the_model_to_the_gpu_from_a_snapshot_and_data_on_the_cpu(digits):
    model = ftlab.get_model("glyphnet", num_classes=10)
    ftlab.freeze(model)
    ftlab.unfreeze(model, "head")
    before = ftlab.snapshot(model)  # on the CPU, as in lesson 2
    trainer = ftlab.Trainer(model, digits.train, digits.val, lr=0.05, batch_size=20, progress=False)
    trainer.fit(epochs=2)
    assert next(model.parameters()).is_cuda and not before["head.weight"].is_cuda
    moved = ftlab.changes(model, before)
    assert moved["head.weight"] > 0 and moved["stem.1.running_mean"] == 0, "frozen BatchNorm statistics stayed"
    assert ftlab.drift(model, before)["head"] > 0 and ftlab.drift(model, before)["stem"] == 0
    rows = {r[0]: r for r in ftlab.inspect(model, trainer.optimizer, before=before).rows}
    assert rows["head"][7] == "yes" and not rows["stem.0"][8]
    accuracy = ftlab.accuracy(model, digits.test.images, digits.test.labels)  # CPU data, GPU model
    assert accuracy == pytest.approx(trainer.evaluate(digits.test)["acc"], abs=0.03)  # fp32 vs the trainer's autocast
    found = ftlab.lr_find(trainer, num_steps=8)
    assert found.suggested > 0 and next(model.parameters()).is_cuda


def test_augment_draws_on_the_batchs_device_and_checkpoints_keep_its_generator(digits, tmp_path):
    seen = []

    def augment(x, generator):
        seen.append((x.device.type, generator.device.type))
        noise = torch.randint(0, 8, x.shape, generator=generator, device=x.device)
        return (x.int() + noise).clamp(0, 255).to(torch.uint8)
    trainer = ftlab.Trainer(ftlab.get_model("glyphnet", num_classes=10), digits.train, lr=0.05, batch_size=20,
                            progress=False, augment=augment)
    trainer.fit(epochs=1)
    assert set(seen) == {("cuda", "cuda")} and trainer.status == "done"
    path = trainer.save(tmp_path / "run.pt")
    state = trainer.augment_generator.get_state()
    trainer.fit(epochs=1)
    trainer.load(path)
    assert torch.equal(trainer.augment_generator.get_state(), state)


def test_trainers_share_one_device_copy_of_each_image_set_and_release_their_state(digits):
    trainers = [ftlab.Trainer(ftlab.get_model("glyphnet", num_classes=10), digits.train, digits.val, lr=0.05,
                              batch_size=20, progress=False) for _ in range(2)]
    for trainer in trainers:
        trainer.fit(epochs=1)
    copies = [trainer._tensors(digits.train)[0] for trainer in trainers]
    assert copies[0].is_cuda and copies[0].data_ptr() == copies[1].data_ptr()
    torch.cuda.synchronize()
    held = torch.cuda.memory_allocated()
    trainers[0].release()
    assert torch.cuda.memory_allocated() < held, "snapshots, momentum and gradients left the GPU"


def test_a_divergence_on_the_gpu_rolls_back_and_the_outputs_stay_finite(digits):
    model = ftlab.get_model("glyphnet", num_classes=10)
    trainer = ftlab.Trainer(model, digits.train, digits.val, lr=1e30, batch_size=20, progress=False)
    with pytest.warns(RuntimeWarning, match="NaN/inf"):
        trainer.fit(epochs=1, max_steps=1)
    assert trainer.status == "diverged" and trainer.step == 0
    assert torch.isfinite(torch.tensor(trainer.evaluate(digits.val)["loss"]))
