"""Shared fixtures: small real models and data, nothing mocked; tests that need a system tool skip without it."""
import os
import shutil

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


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    """One folder per test session: Oxford pets and CIFAR-10 in torchvision's on-disk formats (small images), and
    a torch hub cache holding a random-init resnet18 under its ImageNet file name. `cifar_md5`: the code that
    makes torchvision accept the stand-in CIFAR files (run it where they are read)."""
    import standin as make

    root = tmp_path_factory.mktemp("standin")
    make.oxford_pets(root / "data")
    md5 = make.cifar10(root / "data")
    make.resnet18_weights(root / "torch")
    return {"data": root / "data", "torch_home": root / "torch", "cifar_md5": make.trust_cifar10(md5)}


@pytest.fixture
def glyphnet():
    torch.manual_seed(0)
    return ftlab.get_model("glyphnet", num_classes=10)



# marker: (what its tests need, the command it runs, the Debian package that provides it)
SYSTEM_TOOLS = {
    "sandbox": ("bubblewrap, the sandbox that autograding runs submissions in", "bwrap", "bubblewrap"),
    "browser": ("Chromium, the browser the page tests drive", "chromium", "chromium"),
}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """A test marked `sandbox` or `browser` skips when its tool is missing, naming the package to install; with
    FTLAB_REQUIRE_TOOLS=1 (.ci/run sets it) it fails instead, so a broken install cannot pass by skipping."""
    for marker, (what, command, package) in SYSTEM_TOOLS.items():
        if item.get_closest_marker(marker) and shutil.which(command) is None:
            message = f"needs {what}: `{command}` is not on PATH; install it with `apt-get install {package}`"
            if os.environ.get("FTLAB_REQUIRE_TOOLS") == "1":
                pytest.fail(f"FTLAB_REQUIRE_TOOLS=1 and this test {message}", pytrace=False)
            pytest.skip(message)
