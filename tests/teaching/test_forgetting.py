"""Lesson 7's measurements: the source set, the kept head put back, WiSE-FT mixing, the shifted test; in the quick
profile (GlyphNet) and constructed for the full one (resnet18, here without its downloaded weights)."""
import pytest
import torch

import ftlab
from ftlab.runtime.data import ImageSet, Splits
from ftlab.teaching import forgetting


def test_glyphnet_source_set_is_real_and_the_pretrained_body_scores_high():
    model = ftlab.get_model("glyphnet")
    source, means = forgetting.source_set(model, None, n=124)
    assert means == "source-task accuracy" and len(source) == 124 and int(source.labels.max()) < 62
    head = model.head
    tuned = ftlab.get_model("glyphnet", num_classes=10)
    assert forgetting.source_accuracy(tuned, head, source) >= 0.9  # same body, source head back
    assert tuned.head.out_features == 10  # the tuned model itself keeps its new head


def test_mix_interpolates_every_float_tensor_and_refuses_other_architectures():
    a, b = ftlab.get_model("glyphnet", num_classes=10), ftlab.get_model("glyphnet", num_classes=10, weights=None)
    for alpha, end in ((0.0, a), (1.0, b)):
        mixed = forgetting.mix(a, b, alpha)
        assert all(torch.allclose(v.float(), end.state_dict()[k].float()) for k, v in mixed.state_dict().items()
                   if v.is_floating_point())
    half = forgetting.mix(a, b, 0.5).stem[1].running_var
    assert torch.allclose(half, (a.stem[1].running_var + b.stem[1].running_var) / 2)
    with pytest.raises(ValueError, match="same architecture"):
        forgetting.mix(a, ftlab.get_model("glyphnet"), 0.5)


def test_the_full_profile_path_constructs():
    model = ftlab.get_model("resnet18", weights=None)
    images = ImageSet(torch.randint(0, 255, (6, 3, 64, 64), dtype=torch.uint8), torch.arange(6) % 3, ["a", "b", "c"])
    source, means = forgetting.source_set(model, images)
    assert "agreement" in means and forgetting.source_accuracy(model, model.fc, source) == 1.0
    shifted = forgetting.shifted_test(Splits(images, images, images, "oxford_pets"), "cifar10")
    assert shifted.images.shape == images.images.shape and torch.equal(shifted.labels, images.labels)
    assert not torch.equal(shifted.images, images.images)
