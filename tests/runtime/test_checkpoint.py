"""Checkpoints: a refused load changes nothing, odd files are named for what they are, a failed save names its
path, and a resumed run continues exactly as one that never stopped."""
import subprocess
import sys

import pytest
import torch

import ftlab
from ftlab.runtime.train import Trainer


def _trainer(model, data, **kw):
    kw = {"lr": 0.05, "batch_size": 20, "progress": False, "log_every": 1, **kw}
    return Trainer(model, data.train, data.val, **kw)


def _state(trainer):
    return ({n: t.clone() for n, t in trainer.model.state_dict().items()},
            [p.requires_grad for p in trainer.model.parameters()],
            {k: v.clone() for s in trainer.optimizer.state.values() for k, v in s.items() if torch.is_tensor(v)},
            [len(pg["params"]) for pg in trainer.optimizer.param_groups], trainer.step, len(trainer.history.steps))


def _same(a, b) -> bool:
    return (a[0].keys() == b[0].keys() and all(torch.equal(a[0][k], b[0][k]) for k in a[0]) and a[1:2] == b[1:2]
            and a[3:] == b[3:] and a[2].keys() == b[2].keys() and all(torch.equal(a[2][k], b[2][k]) for k in a[2]))


def test_a_checkpoint_for_another_head_size_is_refused_before_anything_changes(digits, tmp_path):
    torch.manual_seed(0)
    ten = _trainer(ftlab.get_model("glyphnet", num_classes=10), digits)
    ten.fit(epochs=1)
    path = ten.save(tmp_path / "ten.pt")
    four_classes = digits.train.subset(torch.nonzero(digits.train.labels < 4).squeeze(1))
    four = Trainer(ftlab.get_model("glyphnet", num_classes=4), four_classes, None, lr=0.05, batch_size=20,
                   progress=False, optimizer="sgd")
    ftlab.freeze(four.model, "stem")
    four.fit(epochs=1)
    before = _state(four)
    with pytest.raises(ValueError, match=r"head.weight is \(10, 192\) there and \(4, 192\) here.*Nothing was changed"):
        four.load(path)
    assert _same(_state(four), before), "model, freezing and optimizer untouched"


def test_a_plain_state_dict_loads_as_weights_and_other_files_are_named(glyphnet, digits, tmp_path):
    torch.manual_seed(1)
    source = ftlab.get_model("glyphnet", num_classes=10)
    torch.save(source.state_dict(), tmp_path / "weights.pt")
    trainer = _trainer(glyphnet, digits, optimizer="adamw", lr=1e-3)
    trainer.fit(epochs=1)
    trainer.load(tmp_path / "weights.pt")
    assert all(torch.equal(a, b) for a, b in zip(glyphnet.state_dict().values(), source.state_dict().values()))
    assert not trainer.optimizer.state and "plain state dict" in trainer.history.events[-1]
    trainer.fit(epochs=1)
    assert trainer.status == "done"

    before = _state(trainer)
    (tmp_path / "noise.pt").write_bytes(torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0),
                                                      dtype=torch.uint8).numpy().tobytes())
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")  # a whole module: pickled code
    torch.save({"weights": [1, 2]}, tmp_path / "other.pt")
    for name, message in [("noise.pt", "is not a PyTorch checkpoint"), ("module.pt", "pickled Python objects"),
                          ("other.pt", "neither a Trainer.save"), ("missing.pt", "no checkpoint at")]:
        with pytest.raises((ValueError, FileNotFoundError)) as err:
            trainer.load(tmp_path / name)
        assert message in str(err.value) and name in str(err.value), str(err.value)
        assert "weights_only=False" not in str(err.value), "never advise the unsafe load"
    assert _same(_state(trainer), before)


def test_a_checkpoint_from_another_optimizer_is_refused(glyphnet, digits, tmp_path):
    adam = _trainer(glyphnet, digits, optimizer="adamw", lr=1e-3)
    adam.fit(epochs=1)
    path = adam.save(tmp_path / "adam.pt")
    torch.manual_seed(0)
    sgd = _trainer(ftlab.get_model("glyphnet", num_classes=10), digits)
    before = _state(sgd)
    with pytest.raises(ValueError, match="trained with 'adamw' but this trainer uses 'sgd'"):
        sgd.load(path)
    assert _same(_state(sgd), before)


def test_a_resumed_run_matches_one_that_never_stopped(digits, tmp_path):
    def fresh(**kw):
        torch.manual_seed(0)
        return _trainer(ftlab.get_model("glyphnet", num_classes=10), digits, log_every=5, **kw)
    straight = fresh()
    straight.fit(epochs=3)
    first = fresh()
    first.fit(epochs=1)
    first.save(tmp_path / "half.pt")
    resumed = fresh()
    resumed.load(tmp_path / "half.pt")
    resumed.fit(epochs=2)
    assert resumed.step == straight.step == 15
    assert [r["loss"] for r in resumed.history.steps] == [r["loss"] for r in straight.history.steps]
    assert all(torch.equal(a, b) for a, b in zip(resumed.model.state_dict().values(), straight.model.state_dict().values()))


@pytest.mark.slow
@pytest.mark.sandbox  # bubblewrap makes a folder read-only even for root
def test_a_save_into_a_read_only_folder_names_the_path(tmp_path):
    folder = tmp_path / "readonly"
    folder.mkdir()
    script = ("import ftlab, torch\n"
              "d = ftlab.load_target('glyph-digits', labels_per_class=2)\n"
              "t = ftlab.Trainer(ftlab.get_model('glyphnet', num_classes=10), d.train, progress=False)\n"
              f"t.save({str(folder / 'run.pt')!r})\n")
    result = subprocess.run(["bwrap", "--bind", "/", "/", "--ro-bind", str(folder), str(folder), "--dev", "/dev",
                             "--proc", "/proc", sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"OSError: could not write the checkpoint {folder / 'run.pt'}"), result.stderr[-2000:]


def test_check_trainer_state_returns_the_files_freezing_and_puts_requires_grad_back(glyphnet, digits, tmp_path):
    from ftlab.runtime import checkpoint

    ftlab.freeze(glyphnet, "stem", "stage1")
    trainer = _trainer(glyphnet, digits)
    trainer.fit(max_steps=2)
    state = checkpoint.read(trainer.save(tmp_path / "run.pt"))
    ftlab.unfreeze(glyphnet)
    frozen = checkpoint.check_trainer_state(state, glyphnet, "glyphnet", "sgd", "run.pt")
    assert frozen == {n for n, _ in glyphnet.named_parameters() if n.startswith(("stem.", "stage1."))}
    assert all(p.requires_grad for p in glyphnet.parameters()), "checking changes no flag"
    state["optimizer"]["param_groups"] = state["optimizer"]["param_groups"][:2]  # a file from another layout
    with pytest.raises(ValueError, match="run.pt: its optimizer state does not fit this model"):
        checkpoint.check_trainer_state(state, glyphnet, "glyphnet", "sgd", "run.pt")
    assert all(p.requires_grad for p in glyphnet.parameters())
    with pytest.raises(ValueError, match="holds a glyphnet checkpoint, not resnet18"):
        checkpoint.check_trainer_state(state, glyphnet, "resnet18", "sgd", "run.pt")
