"""Shared fixtures: small real models and data, nothing mocked."""
import pytest
import torch

import ftlab


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _private_progress(monkeypatch, tmp_path_factory):
    """Progress stores live under the test run's temp folder: a failed exercise check never reaches a real learner's."""
    monkeypatch.setenv("FTLAB_DATA_DIR", str(tmp_path_factory.getbasetemp() / "ftlab-data"))


@pytest.fixture(scope="session")
def digits():
    """The offline similar target, 10 labels per class."""
    return ftlab.load_target("glyph-digits", labels_per_class=10, seed=0)


@pytest.fixture
def glyphnet():
    torch.manual_seed(0)
    return ftlab.get_model("glyphnet", num_classes=10)
