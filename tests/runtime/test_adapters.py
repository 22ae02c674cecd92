"""LoRA (through peft) and BitFit on models from get_model: layer groups, trainable counts, drift of the weights the
model computes with, merging, and a peft-wrapped model's groups."""
import pytest
import torch

import ftlab
from ftlab.runtime.adapters import is_adapter, lora_layers


def glyphnet():
    torch.manual_seed(0)
    return ftlab.get_model("glyphnet", num_classes=10)


def test_lora_keeps_groups_and_trains_only_adapters_and_head():
    model = ftlab.lora(glyphnet(), rank=2)
    assert len(lora_layers(model)) == 9 and hasattr(model, "ftlab")
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(is_adapter(n) or n.startswith("head.") for n in trainable)
    rows = {r[0]: r for r in ftlab.summary(model).rows}
    assert [rows[g][3] for g in ("stem", "stage1", "stage2", "stage3", "stage4", "head")] == ["adapters"] * 5 + ["trainable"]
    assert model.training and not any(m.training for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_lora_refuses_bad_input_and_changes_nothing():
    model = glyphnet()
    with pytest.raises(ValueError, match="rank must be a positive int"):
        ftlab.lora(model, rank=0)
    with pytest.raises(ValueError, match="unknown layer group 'body'.*valid groups"):
        ftlab.lora(model, groups=("body",))
    with pytest.raises(ValueError, match="hold no Conv2d"):
        ftlab.lora(model, groups=("head",))
    assert not lora_layers(model) and all(p.requires_grad for p in model.parameters())
    ftlab.lora(model, groups=("stage4",))
    with pytest.raises(ValueError, match="already has LoRA layers"):
        ftlab.lora(model)
    with pytest.raises(ValueError, match="no LoRA layers to merge"):
        ftlab.merge_lora(glyphnet())


def test_drift_measures_the_effective_weights_against_a_snapshot_taken_before_lora():
    model = glyphnet()
    before = ftlab.snapshot(model)
    ftlab.lora(model, rank=4)
    assert all(v == 0 for v in ftlab.drift(model, before).values())  # B starts at zero: the same weights
    layer = dict(lora_layers(model))["stage4.1.0"]
    with torch.no_grad():
        layer.lora_B["default"].weight.normal_(std=0.1)
    moved = ftlab.drift(model, before)
    expected = layer.get_delta_weight("default").norm() / torch.cat(
        [p.reshape(-1) for n, p in before.items() if n.startswith("stage4.") and "running" not in n
         and "num_batches" not in n]).norm()
    assert moved["stage4"] == pytest.approx(expected.item(), rel=1e-4)
    assert moved["stem"] == 0 and torch.equal(layer.base_layer.weight, before["stage4.1.0.weight"])


def test_merging_gives_the_original_architecture_and_the_same_outputs():
    model = ftlab.lora(glyphnet(), rank=4)
    with torch.no_grad():
        for _, layer in lora_layers(model):
            layer.lora_B["default"].weight.normal_(std=0.05)
    merged = ftlab.merge_lora(model)
    x = torch.rand(8, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), merged.eval()(x), atol=1e-5)
    assert not lora_layers(merged) and ftlab.count_parameters(merged)[0] == ftlab.count_parameters(glyphnet())[0]
    assert lora_layers(model)  # the LoRA model itself is left as it was


def test_bitfit_trains_biases_and_head():
    model = ftlab.bitfit(glyphnet())
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {n for n, _ in model.named_parameters() if n.endswith("bias") or n.startswith("head.")}


def test_a_peft_wrapped_model_maps_to_the_same_groups():
    from peft import LoraConfig, get_peft_model

    wrapped = get_peft_model(glyphnet(), LoraConfig(r=2, target_modules=["stem.0", "stage4.1.0"]))
    rows = {r[0]: r for r in ftlab.summary(wrapped).rows}
    assert rows["stem"][3] == "adapters" and rows["stage1"][3] == "frozen" and rows["stage4"][3] == "adapters"
    assert set(ftlab.drift(wrapped, ftlab.snapshot(wrapped))) == {"stem", "stage1", "stage2", "stage3", "stage4", "head"}


def test_the_full_profile_model_takes_lora_and_bitfit():
    model = ftlab.get_model("resnet18", num_classes=5, weights=None)
    total = ftlab.count_parameters(model)[0]
    ftlab.lora(model, rank=4)
    assert 0 < ftlab.count_parameters(model)[1] < 0.05 * total
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 5)
    bitfit = ftlab.bitfit(ftlab.get_model("resnet18", num_classes=5, weights=None))
    assert {n for n, p in bitfit.named_parameters() if p.requires_grad} >= {"fc.weight", "fc.bias", "bn1.bias"}
