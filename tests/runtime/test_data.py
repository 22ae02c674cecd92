"""Datasets: deterministic offline targets, nested k-per-class subsets, ImageFolder, torchvision offline."""
import pytest
import torch
from PIL import Image

import ftlab
from ftlab.runtime.data import per_class
from ftlab.runtime.preprocess import Preprocess


def test_offline_targets_are_deterministic_balanced_and_disjoint():
    a = ftlab.load_target("glyph-digits", labels_per_class=5, seed=0)
    b = ftlab.load_target("glyph-digits", labels_per_class=5, seed=0)
    assert torch.equal(a.train.images, b.train.images) and torch.equal(a.test.labels, b.test.labels)
    assert torch.bincount(a.train.labels).tolist() == [5] * 10
    assert a.train.images.shape[1:] == (1, 32, 32) and a.train.images.dtype == torch.uint8
    s = ftlab.load_target("sklearn-digits", labels_per_class=10)
    assert torch.bincount(s.test.labels).tolist() == [60] * 10 and torch.bincount(s.val.labels).tolist() == [30] * 10
    flat = lambda x: {bytes(i.numpy().tobytes()) for i in x.images}
    assert not flat(s.train) & flat(s.test), "no test image is also a training image"


def test_k_per_class_subsets_are_nested():
    labels = torch.arange(200) % 10
    five, ten = set(per_class(labels, 5).tolist()), set(per_class(labels, 10).tolist())
    assert five < ten
    with pytest.raises(ValueError, match="only 20 examples"):
        per_class(labels, 21)


def test_unknown_target_lists_the_offline_ones():
    with pytest.raises(ValueError, match="glyph-digits, sklearn-digits"):
        ftlab.load_target("mnist")


def test_image_folder_is_decoded_once_at_the_model_size(tmp_path):
    for c, colour in (("cat", (255, 0, 0)), ("dog", (0, 0, 255))):
        (tmp_path / c).mkdir()
        for i in range(10):
            Image.new("RGB", (50 + i, 40), colour).save(tmp_path / c / f"{i}.png")
    pre = Preprocess(24, 28, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    splits = ftlab.load_image_folder(tmp_path, pre, val_fraction=0.2, test_fraction=0.2)
    assert splits.train.classes == ["cat", "dog"]
    assert (len(splits.train), len(splits.val), len(splits.test)) == (12, 4, 4)
    assert splits.train.images.shape[1:] == (3, 24, 24)
    red = splits.train.images[splits.train.labels == 0][0]
    assert red[0].float().mean() == 255 and red[2].float().mean() == 0
    with pytest.raises(FileNotFoundError, match="one sub-folder of images per class"):
        ftlab.load_image_folder(tmp_path / "missing", pre)


def test_preprocess_adapts_channels_and_size_per_batch():
    pre = Preprocess(64, 72, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    x = torch.full((2, 1, 32, 32), 255, dtype=torch.uint8)
    out = pre(x)
    assert out.shape == (2, 3, 64, 64) and torch.allclose(out, torch.ones_like(out))


def test_torchvision_dataset_offline_fails_clearly(tmp_path):
    pre = Preprocess(32, 32, (0.5,) * 3, (0.5,) * 3)
    with pytest.raises(RuntimeError, match="could not be downloaded.*offline target: glyph-digits"):
        ftlab.load_torchvision("cifar10", tmp_path, pre)
    with pytest.raises(ValueError, match="available: cifar10, flowers102, oxford_pets"):
        ftlab.load_torchvision("imagenet", tmp_path, pre)


def _folder(root, classes: dict[str, int]):
    for c, n in classes.items():
        (root / c).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (30, 30), (10 * i, 0, 0)).save(root / c / f"{i}.png")
    return root


def test_an_image_folder_needs_two_classes_and_says_when_a_split_is_empty(tmp_path, glyphnet):
    pre = Preprocess(24, 28, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    with pytest.raises(ValueError, match=r"only one class folder \(cat\); a classifier needs at least two"):
        ftlab.load_image_folder(_folder(tmp_path / "one", {"cat": 6}), pre)
    with pytest.warns(UserWarning) as caught:
        tiny = ftlab.load_image_folder(_folder(tmp_path / "tiny", {"cat": 2, "dog": 2}), pre)
    assert [str(w.message).split(" (")[0] for w in caught] == ["tiny: the validation split is empty",
                                                               "tiny: the test split is empty"]
    assert len(tiny.train) == 4 and len(tiny.val) == len(tiny.test) == 0
    with pytest.raises(ValueError, match="validation set is empty"):
        ftlab.Trainer(glyphnet, tiny.train, tiny.val, progress=False)
    with pytest.raises(ValueError, match="evaluation set is empty"):
        ftlab.Trainer(glyphnet, tiny.train, progress=False).evaluate(tiny.test)
    for bad in ({"val_fraction": 1.2}, {"val_fraction": 0.5, "test_fraction": 0.5}, {"test_fraction": -0.1}):
        with pytest.raises(ValueError, match="fraction"):
            ftlab.load_image_folder(tmp_path / "tiny", pre, **bad)


def test_check_labels_names_the_set_and_the_fix(digits):
    from ftlab.runtime.data import ImageSet, check_labels

    check_labels(digits.train, 10, "training set", "glyphnet")
    check_labels(digits.train, None, "training set", "glyphnet")  # a head without a Linear: no class count to check
    with pytest.raises(ValueError, match=r"labels from 0 to 9, but the model's head predicts 5 classes \(labels 0..4\); "
                                         r"build the model with get_model\('glyphnet', num_classes=10\)"):
        check_labels(digits.train, 5, "training set", "glyphnet")
    empty = ImageSet(digits.train.images[:0], digits.train.labels[:0], digits.train.classes)
    with pytest.raises(ValueError, match="the validation set is empty \\(pass val=None\\)"):
        check_labels(empty, 10, "validation set", "glyphnet", " (pass val=None)")
    uneven = ImageSet(digits.train.images[:5], digits.train.labels[:4], digits.train.classes)
    with pytest.raises(ValueError, match="the training set has 5 images but 4 labels"):
        check_labels(uneven, 10, "training set", "glyphnet")
    negative = ImageSet(digits.train.images[:2], torch.tensor([0, -1]), digits.train.classes)
    with pytest.raises(ValueError, match="labels from -1 to 0"):
        check_labels(negative, 10, "training set", "glyphnet")


def test_flowers102_trains_on_its_train_and_val_splits_and_tests_on_its_test_split(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    import standin

    md5 = standin.flowers102(tmp_path, per_class=6, classes=3)  # 2 train, 2 val, 2 test per class
    monkeypatch.setattr(tvd.Flowers102, "_file_dict", {**tvd.Flowers102._file_dict, "label": ("imagelabels.mat", md5["imagelabels.mat"]),
                                                        "setid": ("setid.mat", md5["setid.mat"])})
    monkeypatch.setenv("FTLAB_OFFLINE", "1")
    splits = ftlab.load_torchvision("flowers102", tmp_path, Preprocess(16, 16, (0.5,) * 3, (0.5,) * 3), val_fraction=0.25)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (9, 3, 6)
    assert sorted(splits.test.labels.tolist()) == [0, 0, 1, 1, 2, 2] and len(splits.train.classes) == 102


def test_damaged_cifar10_files_are_named_with_what_to_do(tmp_path, monkeypatch):
    import standin

    standin.cifar10(tmp_path, per_batch=10, test=10)  # files whose md5 is not torchvision's: as after a partial download
    (tmp_path / "cifar-10-batches-py" / "test_batch").unlink()
    monkeypatch.setenv("FTLAB_OFFLINE", "1")
    with pytest.raises(RuntimeError) as caught:
        ftlab.load_torchvision("cifar10", tmp_path, Preprocess(32, 32, (0.5,) * 3, (0.5,) * 3))
    message = str(caught.value)
    assert f"{tmp_path / 'cifar-10-batches-py' / 'data_batch_1'} is corrupt or partial" in message
    assert f"{tmp_path / 'cifar-10-batches-py' / 'test_batch'} is missing" in message
    assert "Delete the folder" in message and "could not be downloaded" not in message
    assert "flowers102, oxford_pets) or an offline target: glyph-digits" in message
    with pytest.raises(RuntimeError, match="is not in .* FTLAB_OFFLINE is set"):
        ftlab.load_torchvision("oxford_pets", tmp_path, Preprocess(32, 32, (0.5,) * 3, (0.5,) * 3))
