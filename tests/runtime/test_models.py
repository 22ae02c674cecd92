"""Model registry: layer groups, heads, shipped weights and the offline torchvision weights path."""
import os
import subprocess
import sys
import time

import pytest
import torch
import torchvision

import ftlab
from ftlab.offline import glyphs
from ftlab.offline.glyphnet import WEIGHTS_DIR
from ftlab.offline.glyphnet import meta as glyphnet_meta
from ftlab.runtime.models import FAMILIES, WeightsUnavailable, cached_weights_path


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_parameter_belongs_to_exactly_one_group_in_input_order(name):
    model = ftlab.get_model(name, num_classes=5, weights=None)
    assert list(model.ftlab.groups) == ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    order = list(model.ftlab.groups)
    seen = []
    for pname, _ in model.named_parameters():
        owners = [g for g, prefixes in model.ftlab.groups.items()
                  if any(pname == p or pname.startswith(p + ".") for p in prefixes)]
        assert len(owners) == 1, (pname, owners)
        seen.append(order.index(owners[0]))
    assert seen == sorted(seen), "groups must follow the order parameters are registered (input side first)"
    assert set(seen) == set(range(6)), "every group holds parameters"


@pytest.mark.parametrize("name", list(FAMILIES))
def test_new_head_has_the_requested_outputs(name):
    model = ftlab.get_model(name, num_classes=5, weights=None).eval()
    size = model.ftlab.preprocess.size
    x = torch.zeros(1, model.ftlab.preprocess.channels, size, size)
    with torch.no_grad():
        assert model(x).shape == (1, 5)


def test_unknown_model_lists_the_available_ones():
    with pytest.raises(ValueError, match="available: resnet18, resnet34"):
        ftlab.get_model("resnet19")


def test_shipped_weights_meta_schema_and_parameter_count():
    meta = glyphnet_meta()
    for key in ("source_task", "source_val_accuracy", "num_params", "mean", "std", "recipe", "sha256", "fonts"):
        assert key in meta
    model = ftlab.get_model("glyphnet")
    assert ftlab.count_parameters(model)[0] == meta["num_params"]
    assert (WEIGHTS_DIR / meta["file"]).stat().st_size < 3_000_000, "the offline default must stay a few MB"


def test_shipped_weights_reproduce_their_recorded_source_accuracy():
    """Through the model's own preprocessing (model.ftlab.preprocess), as every user of the weights sees them."""
    meta = glyphnet_meta()
    x, y = glyphs.sample(glyphs.SOURCE_CHARS, meta["recipe"]["n_val"], meta["recipe"]["seed"] + 1)  # the held-out set
    model = ftlab.get_model("glyphnet").to(memory_format=torch.channels_last)
    acc = ftlab.accuracy(model, x, y)
    assert abs(acc - meta["source_val_accuracy"]) < 0.01, (acc, meta["source_val_accuracy"])
    assert acc > 0.9


def test_pretrained_weights_differ_from_random_initialisation():
    torch.manual_seed(0)
    random = ftlab.get_model("glyphnet", weights=None)
    shipped = ftlab.get_model("glyphnet")
    assert not torch.equal(random.stem[0].weight, shipped.stem[0].weight)


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub cache of our own (TORCH_HOME), so nothing outside the test is touched."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path


def test_torchvision_weights_load_from_a_local_checkpoint_in_the_hub_cache(hub):
    entry = torchvision.models.ResNet18_Weights.DEFAULT
    path = cached_weights_path(entry)
    assert str(path).startswith(str(hub))
    torch.manual_seed(1)
    stand_in = torchvision.models.resnet18()
    path.parent.mkdir(parents=True)
    torch.save(stand_in.state_dict(), path)
    model = ftlab.get_model("resnet18", num_classes=5)
    assert torch.equal(model.conv1.weight, stand_in.conv1.weight)
    assert torch.equal(model.layer4[1].conv2.weight, stand_in.layer4[1].conv2.weight)
    assert model.fc.out_features == 5 and model.ftlab.weights == "IMAGENET1K_V1"
    assert model.ftlab.preprocess.size == 224 and model.ftlab.preprocess.mean == tuple(entry.transforms().mean)


def test_missing_weights_offline_fail_at_once_saying_where_to_put_the_file(hub, monkeypatch):
    monkeypatch.setenv("FTLAB_OFFLINE", "1")
    started = time.perf_counter()
    with pytest.raises(WeightsUnavailable) as err:
        ftlab.get_model("mobilenet_v3_small", num_classes=3)
    assert time.perf_counter() - started < 5
    assert str(hub / "hub" / "checkpoints" / "mobilenet_v3_small-047dcff4.pth") in str(err.value)
    assert "weights=None" in str(err.value)


def test_missing_weights_without_network_give_the_same_clear_error(hub):
    if os.environ.get("FTLAB_NETWORK_TESTS"):
        pytest.skip("this machine has a network: the download would succeed")
    with pytest.raises(WeightsUnavailable, match="could not be downloaded.*copy it to"):
        ftlab.get_model("resnet18")
    assert not any(hub.rglob("*.pth")), "no partial file is left in the cache"


@pytest.mark.parametrize("name", ["glyphnet", "resnet18"])
@pytest.mark.parametrize("bad", [0, -3, "5", 2.5, True])
def test_num_classes_must_be_a_positive_int(name, bad):
    with pytest.raises(ValueError, match=f"num_classes must be a positive int.*got {bad!r}"):
        ftlab.get_model(name, num_classes=bad, weights=None)


def test_unknown_weights_list_the_valid_names():
    with pytest.raises(ValueError, match="unknown weights 'NOPE' for resnet18; available: DEFAULT, IMAGENET1K_V1"):
        ftlab.get_model("resnet18", weights="NOPE")
    with pytest.raises(ValueError, match="for resnet18; available: DEFAULT"):  # another family's entry
        ftlab.get_model("resnet18", weights=torchvision.models.ResNet50_Weights.DEFAULT)
    with pytest.raises(ValueError, match="available: DEFAULT, GLYPHS_V1"):
        ftlab.get_model("glyphnet", weights="NOPE")
    with pytest.raises(ValueError, match="unknown model"):
        ftlab.get_model(["resnet18"])
