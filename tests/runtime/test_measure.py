"""One home each for parameter counts, weight drift, accuracy on a set, the head and the optimizer check: each is
checked against a plain PyTorch computation, and every user gets the same number from it."""
import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

import ftlab
from ftlab.assessment.exercises import DiscriminativeLR, TrainableOptimizer
from ftlab.runtime.inspector import optimizer_fit
from ftlab.runtime.measure import Drift, count_parameters, drift, score
from ftlab.runtime.models import FAMILIES, HEAD_NAMES, find_head, last_linear
from ftlab.runtime.train import Trainer


def test_count_parameters_counts_numbers_not_tensors(glyphnet):
    ftlab.freeze(glyphnet, "stem", "stage1")
    total = sum(p.numel() for p in glyphnet.parameters())
    trainable = sum(p.numel() for p in glyphnet.parameters() if p.requires_grad)
    assert count_parameters(glyphnet) == (total, trainable) and 0 < trainable < total
    head = list(glyphnet.head.parameters())
    assert count_parameters(head) == count_parameters(glyphnet.head) == (sum(p.numel() for p in head),) * 2
    rows = {row[0]: row for row in ftlab.summary(glyphnet).rows}
    assert rows["stem"][1:3] == [count_parameters(glyphnet.stem)[0], 0] and rows["total"][1:3] == [total, trainable]


def _reference_drift(model, before):
    out = {}
    for group in ftlab.group_names(model):
        names = [n for n, _ in model.named_parameters() if n.split(".")[0] in model.ftlab.groups[group]]
        now = torch.cat([dict(model.named_parameters())[n].detach().reshape(-1) for n in names])
        then = torch.cat([before[n].reshape(-1) for n in names])
        out[group] = ((now - then).norm() / then.norm()).item()
    return out


def test_drift_is_the_relative_change_of_each_group(glyphnet):
    before = ftlab.snapshot(glyphnet)
    assert set(drift(glyphnet, before).values()) == {0.0}
    with torch.no_grad():
        glyphnet.stage4[0][0].weight.mul_(1.5)
        glyphnet.head.weight.add_(0.1)
    measured, expected = drift(glyphnet, before), _reference_drift(glyphnet, before)
    assert measured == pytest.approx(expected, rel=1e-5) and measured["stem"] == 0 and measured["head"] > 0


def test_drift_from_a_fixed_reference_is_measured_again_on_demand(glyphnet):
    since = Drift(glyphnet)  # the weights now
    with torch.no_grad():
        glyphnet.stem[0].weight.mul_(2)
    assert since()["stem"] > 0 and since()["stage1"] == 0 and since() == pytest.approx(drift(glyphnet, since.reference))


def test_drift_refuses_a_reference_of_another_model_naming_the_parameter(glyphnet):
    before = ftlab.snapshot(glyphnet)
    with pytest.raises(ValueError, match="lack 2 parameters of group 'head'.*ftlab.snapshot"):
        drift(glyphnet, {k: v for k, v in before.items() if not k.startswith("head.")})
    glyphnet.head = nn.Linear(glyphnet.head.in_features, 3)
    with pytest.raises(ValueError, match=r"head.weight has shape \(10, .*\) but the model's has \(3, "):
        drift(glyphnet, before)


def test_accuracy_matches_a_plain_loop_and_leaves_every_mode_as_it_was(glyphnet, digits):
    images, labels = digits.val.images[:70], digits.val.labels[:70]
    ftlab.freeze(glyphnet, "stem")
    glyphnet.train()
    modes = [m.training for m in glyphnet.modules()]
    with torch.no_grad():
        glyphnet.eval()
        right = (glyphnet(glyphnet.ftlab.preprocess(images)).argmax(1) == labels).float().mean().item()
        glyphnet.train()
    assert ftlab.accuracy(glyphnet, images, labels, batch=16) == pytest.approx(right)
    assert [m.training for m in glyphnet.modules()] == modes
    with pytest.raises(ValueError, match="as many labels as images"):
        ftlab.accuracy(glyphnet, images, labels[:5])


def test_the_trainer_and_the_course_measure_the_same_accuracy(glyphnet, digits):
    trainer = Trainer(glyphnet, digits.train, progress=False, amp=False, channels_last=False)
    trainer.fit(max_steps=3)
    acc = ftlab.accuracy(glyphnet, digits.test.images, digits.test.labels)
    assert trainer.evaluate(digits.test)["acc"] == pytest.approx(acc)


def test_score_sums_loss_and_hits_over_batches():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]])
    labels = torch.tensor([0, 0, 0])
    result = score(lambda idx: logits[idx], labels, batch=2)
    assert result == pytest.approx({"loss": F.cross_entropy(logits, labels).item(), "acc": 2 / 3})


def test_the_head_of_every_family_and_of_a_plain_model():
    assert set(HEAD_NAMES) == {"fc", "classifier", "heads", "head"}
    assert all(len(groups["head"]) == 1 for groups in FAMILIES.values()), "the head group names the head attribute"
    for name in ("resnet18", "mobilenet_v3_small", "glyphnet"):
        model = ftlab.get_model(name, num_classes=4, weights=None)
        attr, head = find_head(model)
        assert attr == model.ftlab.head and last_linear(head).out_features == 4
    plain = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    assert find_head(plain) == ("3", plain[3]) and last_linear(plain) is plain[3]
    with pytest.raises(ValueError, match="no head: no attribute fc, classifier, heads, head"):
        find_head(nn.Sequential(nn.Conv2d(1, 1, 1)))
    assert last_linear(nn.Conv2d(1, 1, 1)) is None


def _optimizers(model):
    """A family of optimizers over a ResNet-18 with layer4 and fc trainable, right and wrong ways."""
    body, head = list(model.layer4.parameters()), list(model.fc.parameters())
    yield "right", torch.optim.SGD([{"params": body, "lr": 1e-4}, {"params": head, "lr": 1e-3}]), True
    yield "same lr", torch.optim.SGD([{"params": body, "lr": 1e-3}, {"params": head, "lr": 1e-3}]), False
    yield "everything", torch.optim.SGD(model.parameters(), lr=0.1), False
    yield "head only", torch.optim.SGD(head, lr=0.1), False
    yield "body faster", torch.optim.SGD([{"params": body, "lr": 1e-2}, {"params": head, "lr": 1e-3}]), False
    stale = nn.Linear(512, 1000)
    yield "old head", torch.optim.SGD([{"params": body, "lr": 1e-4}, {"params": [*head, *stale.parameters()],
                                                                       "lr": 1e-3}]), False
    no_lr = torch.optim.Optimizer([{"params": body, "lr": 1e-4}, {"params": head}], {})
    yield "a group without lr", no_lr, False


def _resnet():
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None)
    model.requires_grad_(False)
    model.fc = nn.Linear(512, 5)
    model.layer4.requires_grad_(True)
    return model


def _optimizer_ok(model, optimizer):
    """What both exercises ask of an optimizer, read from optimizer_fit alone."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        return False
    fit = optimizer_fit(model, optimizer)
    return fit.exact and fit.discriminative


def test_optimizer_fit_and_the_exercises_agree_on_every_optimizer():
    model = _resnet()
    for name, optimizer, right in _optimizers(model):
        exercises = all(ex().verify(model=model, optimizer=optimizer).correct
                        for ex in (TrainableOptimizer, DiscriminativeLR))
        assert _optimizer_ok(model, optimizer) == exercises == right, name


def test_the_optimizer_check_grades_a_missing_head_or_optimizer_instead_of_raising():
    model = _resnet()
    optimizer = torch.optim.SGD(model.layer4.parameters(), lr=1e-4)
    model.fc = None  # what an adversarial answer cell does
    assert optimizer_fit(model, optimizer).head is None
    assert not _optimizer_ok(model, optimizer) and not _optimizer_ok(model, None)
    result = DiscriminativeLR().verify(model=model, optimizer=optimizer)
    assert not result.correct
    assert "torch.optim.Optimizer, got list" in TrainableOptimizer().verify(model=_resnet(), optimizer=[1]).feedback
    with pytest.raises(TypeError, match="must be a torch.optim.Optimizer, got NoneType"):
        optimizer_fit(model, None)


def test_the_optimizer_check_takes_tensor_rates_and_a_head_without_parameters():
    model = _resnet()
    body, head = list(model.layer4.parameters()), list(model.fc.parameters())
    tensor_lrs = torch.optim.SGD([{"params": body, "lr": torch.tensor(1e-4)}, {"params": head, "lr": torch.tensor(1e-3)}])
    assert optimizer_fit(model, tensor_lrs).discriminative and _optimizer_ok(model, tensor_lrs)
    model.fc = nn.Identity()
    result = DiscriminativeLR().verify(model=model, optimizer=torch.optim.SGD(body, lr=1e-4))
    assert not result.correct and "model.fc has no parameters" in result.feedback


def test_changes_are_the_largest_change_per_tensor_from_a_snapshot_of_any_dtype(glyphnet, digits):
    before = ftlab.snapshot(glyphnet)
    with torch.no_grad():
        glyphnet.head.weight[0, 0] += 0.5
    glyphnet.train()(glyphnet.ftlab.preprocess(digits.train.images[:16]))  # BatchNorm statistics move
    state = glyphnet.state_dict()
    expected = {k: (state[k].float() - v.float()).abs().max().item() for k, v in before.items()}
    assert ftlab.changes(glyphnet, before) == pytest.approx(expected)
    assert ftlab.changes(glyphnet, before)["head.weight"] == pytest.approx(0.5)
    as_double = {k: v.double() for k, v in before.items()}  # a snapshot kept elsewhere and in another dtype
    assert ftlab.changes(glyphnet, as_double) == pytest.approx(expected)
    assert ftlab.drift(glyphnet, as_double) == pytest.approx(ftlab.drift(glyphnet, before))
    rows = {r[0]: r for r in ftlab.inspect(glyphnet, before=as_double).rows}
    assert rows["head"][7] == "yes" and rows["stem.0"][7] == "no"


def test_measurements_compute_where_the_model_is_with_data_and_snapshots_on_the_cpu(digits):
    """Without a GPU here, the model goes to the meta device (shapes, no values): a helper that computes there
    fails only when it reads its result back, never with a CPU tensor meeting a meta one. tests/runtime/test_gpu.py
    runs the same on CUDA to the end."""
    model = ftlab.get_model("glyphnet", num_classes=10)
    before = ftlab.snapshot(model)
    model.to("meta")
    for measure in (lambda: ftlab.accuracy(model, digits.val.images, digits.val.labels),
                    lambda: ftlab.drift(model, before), lambda: ftlab.changes(model, before)):
        with pytest.raises(NotImplementedError, match="Cannot copy out of meta tensor"):
            measure()
