"""Coding exercises grade live ResNet-18 and GlyphNet objects and explain the seed quizzes' wrong snippets."""
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

from ftlab.assessment.bank import Exercise, Outcome, grade, load_bank
from ftlab.assessment.bank.checks import probe
from ftlab.assessment.exercises import EXERCISES, DiscriminativeLR, FreezeAll, FrozenBatchNorm, ReplaceHead, TrainableOptimizer
from ftlab.runtime.models import find_head
from ftlab.offline.glyphnet import GlyphNet


def resnet():
    return torchvision.models.resnet18(weights=None)


@pytest.fixture(params=["resnet18", "glyphnet"])
def model(request):
    torch.manual_seed(0)
    return resnet() if request.param == "resnet18" else GlyphNet()


def head_name(m):
    return "fc" if hasattr(m, "fc") else "head"


def new_head(m, classes=5):
    name = head_name(m)
    setattr(m, name, nn.Linear(getattr(m, name).in_features, classes))


def test_registry_and_helpers(model):
    assert set(EXERCISES) == {"FreezeAll", "ReplaceHead", "TrainableOptimizer", "DiscriminativeLR", "FrozenBatchNorm",
                              "HeadOnly", "CountTrainable", "FreezeBelow", "LayerwiseLR", "UnfreezeTop",
                              "KeepSourceHead", "WiseFT", "LoraBudget", "BitFit"}  # the last four: test_exercises_past_syllabus
    assert find_head(model)[0] == head_name(model)
    for cls in EXERCISES.values():
        assert cls().hint() and cls().solution()


@pytest.mark.parametrize("name", sorted(set(EXERCISES) - {"KeepSourceHead", "WiseFT", "LoraBudget", "BitFit"}))
def test_every_shown_solution_passes_its_own_check(name):
    exercise = EXERCISES[name]()
    torch.manual_seed(0)
    result = exercise.check_code(exercise.solution(), model=resnet())  # the solutions are written for ResNet
    assert result.correct, result


def test_find_head_falls_back_to_last_linear():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(8), nn.ReLU(), nn.Linear(8, 2))
    assert find_head(model) == ("4", model[4])


def test_probe_restores_modes_and_running_stats(model):
    model.train()
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    before = bn.running_mean.clone()
    assert probe(model) is not None
    assert model.training and bn.training and torch.equal(bn.running_mean, before)


def test_freeze_all_correct_both_ways(model):
    assert FreezeAll().check(model=model).outcome is Outcome.INCORRECT
    model.requires_grad_(False)
    result = FreezeAll().check(model=model)
    assert result.correct and sum(p.requires_grad for p in model.parameters()) == 0
    fresh = GlyphNet()
    assert FreezeAll().check_code("for param in model.parameters(): param.requires_grad = False", model=fresh).correct


@pytest.mark.parametrize("snippet,why", [
    ("model.freeze_layers()", "no freeze_layers() method"),
    ("model.trainable = False", "plain Python attribute that PyTorch never reads"),
    ("for layer in model.layers: layer.trainable = True", "no .layers list"),
    ("model.requires_grad = False", "requires_grad_(False)"),
    ("model.stem.trainable = True", "model.stem.trainable"),
])
def test_seed_wrong_snippets_fail_with_a_reason(snippet, why):
    result = FreezeAll().check_code(snippet, model=GlyphNet())
    assert result.outcome is Outcome.INCORRECT and why in result.diagnosis


def test_partial_freeze_is_incorrect_and_names_a_tensor(model):
    model.requires_grad_(False)
    getattr(model, head_name(model)).weight.requires_grad_(True)
    result = FreezeAll().check(model=model)
    assert not result.correct and f"{head_name(model)}.weight" in result.feedback and "1 of" in result.feedback


@pytest.mark.parametrize("objects", [{}, {"model": None}])
def test_missing_objects_are_not_attempted(objects):
    for cls in (c for c in EXERCISES.values() if "model" in c().needs):
        result = cls().check(**objects)
        assert result.outcome is Outcome.NOT_ATTEMPTED and "check(model=model" in result.feedback


def test_non_module_is_incorrect():
    result = FreezeAll().check(model="resnet18")
    assert result.outcome is Outcome.INCORRECT and "torch.nn.Module" in result.feedback


def test_replace_head_correct(model):
    model.requires_grad_(False)
    new_head(model)
    assert ReplaceHead().check(model=model).correct


def test_replace_head_diagnoses(model):
    model.requires_grad_(False)
    untouched = ReplaceHead().check(model=model)
    if isinstance(model, GlyphNet):  # GlyphNet's default head has 62 classes
        assert "62 outputs" in untouched.feedback and untouched.diagnosis is None
    else:
        assert "still has 1000 outputs" in untouched.diagnosis
    new_head(model)
    model.requires_grad_(False)
    assert "froze after replacing the head" in ReplaceHead().check(model=model).diagnosis
    model.requires_grad_(True)
    assert "body tensors still train" in ReplaceHead().check(model=model).feedback


def test_replace_head_with_wrong_in_features():
    model = resnet().requires_grad_(False)
    model.fc = nn.Linear(100, 5)
    assert "in_features" in ReplaceHead().check(model=model).diagnosis


def test_optimizer_trainable_only(model):
    model.requires_grad_(False)
    new_head(model)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    assert TrainableOptimizer().check(model=model, optimizer=optimizer).correct


def test_optimizer_built_before_freezing(model):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    model.requires_grad_(False)
    getattr(model, head_name(model)).requires_grad_(True)
    result = TrainableOptimizer().check(model=model, optimizer=optimizer)
    assert "built before freezing" in result.diagnosis


def test_optimizer_built_before_replacing_head(model):
    model.requires_grad_(False)
    getattr(model, head_name(model)).requires_grad_(True)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    new_head(model)
    assert "before replacing the head" in TrainableOptimizer().check(model=model, optimizer=optimizer).diagnosis


def test_optimizer_missing_trainable_tensors(model):
    model.requires_grad_(False)
    head = getattr(model, head_name(model))
    head.requires_grad_(True)
    optimizer = torch.optim.SGD([head.weight], lr=0.01)
    result = TrainableOptimizer().check(model=model, optimizer=optimizer)
    assert not result.correct and "bias" in result.feedback


def test_discriminative_learning_rates():
    model = resnet().requires_grad_(False)
    model.fc = nn.Linear(512, 5)
    model.layer4.requires_grad_(True)
    good = torch.optim.SGD([{"params": model.layer4.parameters(), "lr": 1e-4},
                            {"params": model.fc.parameters(), "lr": 1e-3}])
    assert DiscriminativeLR().check(model=model, optimizer=good).correct
    single = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    assert "overwrites the features" in DiscriminativeLR().check(model=model, optimizer=single).diagnosis
    reversed_ = torch.optim.SGD([{"params": model.layer4.parameters(), "lr": 1e-2},
                                 {"params": model.fc.parameters(), "lr": 1e-3}])
    assert not DiscriminativeLR().check(model=model, optimizer=reversed_).correct
    head_only = torch.optim.SGD(model.fc.parameters(), lr=1e-3)
    assert "unfreeze a late stage" in DiscriminativeLR().check(model=model, optimizer=head_only).feedback


def test_frozen_batchnorm(model):
    model.requires_grad_(False)
    new_head(model)
    model.train()
    assert "BatchNorm still in train mode" in FrozenBatchNorm().check(model=model).diagnosis
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
    assert FrozenBatchNorm().check(model=model).correct
    model.eval()
    assert "head is in eval mode" in FrozenBatchNorm().check(model=model).feedback


def test_bank_grade_runs_exercises():
    item = load_bank().get("ex-freeze-all")
    assert grade(item, {"model": GlyphNet().requires_grad_(False)}).correct
    assert grade(item, "model.requires_grad_(False)").outcome is Outcome.NOT_ATTEMPTED


def test_replace_head_takes_the_class_count_the_course_grades():
    model = GlyphNet().requires_grad_(False)
    model.head = nn.Linear(model.head.in_features, 7)
    assert ReplaceHead(num_classes=7).check(model=model).correct
    assert "the task has 5 classes" in ReplaceHead().check(model=model).feedback


def course_bank():
    from ftlab.assessment.course.keys import load_keys

    return load_keys(Path(__file__).parents[3] / "quizzes").bank


@pytest.mark.parametrize("bank", ["public", "course"])
def test_every_exercise_item_names_a_check_that_takes_its_objects_and_settings(bank):
    from ftlab.assessment.bank.checks import check_for

    items = [i for i in (load_bank() if bank == "public" else course_bank()).items if isinstance(i, Exercise)]
    assert len(items) == (14 if bank == "public" else 5)
    for item in items:
        assert callable(check_for(item))


@pytest.mark.parametrize("change,says", [
    ({"check": "freeze_everything"}, "no check named 'freeze_everything'; the checks in ftlab.assessment.bank.checks are "
                                     "freeze_all, replace_head"),
    ({"needs": ["net"]}, r"check freeze_all takes the objects \['model'\], but the item's needs are \['net'\]"),
    ({"settings": {"num_classes": 3}}, "check freeze_all has no setting 'num_classes'; its settings are none"),
])
def test_an_exercise_whose_check_does_not_fit_says_what_is_wrong(change, says):
    from dataclasses import replace

    from ftlab.assessment.bank.checks import run

    item = replace(load_bank().get("ex-freeze-all"), **change)
    with pytest.raises(ValueError, match=f"exercise 'ex-freeze-all'.*{says}"):
        run(item, {"model": GlyphNet(), "net": GlyphNet()})


def test_a_course_bank_with_a_wrong_check_fails_the_build_not_the_grading(tmp_path):
    import shutil

    from ftlab.assessment.course.build import build
    from ftlab.assessment.course.keys import KeysError

    shutil.copytree(Path(__file__).parents[3] / "quizzes" / "bank", tmp_path / "bank")
    path = tmp_path / "bank" / "freezing.toml"
    path.write_text(path.read_text().replace('check = "freeze_all"', 'check = "freeze_al"'))
    with pytest.raises(KeysError, match="exercise 'e1-freeze-all': no check named 'freeze_al'"):
        build(tmp_path)
    assert not (tmp_path / "source").exists()


def test_settings_are_the_items_own_and_an_unknown_one_is_refused():
    assert ReplaceHead().num_classes == 5 and ReplaceHead(num_classes=3).settings() == {"num_classes": 3}
    with pytest.raises(ValueError, match="ReplaceHead has no setting 'classes'; its settings are \\['num_classes'\\]"):
        ReplaceHead(classes=3)
    with pytest.raises(ValueError, match="FreezeAll has no setting 'num_classes'; its settings are none"):
        FreezeAll(num_classes=3)


def test_one_description_per_exercise_the_class_reads_its_bank_item():
    item = load_bank().get("ex-freeze-below")
    exercise = EXERCISES["FreezeBelow"]()
    assert (exercise.hint(), exercise.solution(), exercise.needs) == (item.hint, item.solution, item.needs)
    assert item.hints == [item.hint, f"It can start like this: {item.solution.splitlines()[0]}"]


def test_course_exercise_grade_is_worth_its_points():
    item = course_bank().get("e2-replace-head")
    model = GlyphNet()
    model.requires_grad_(False)
    model.head = nn.Linear(model.head.in_features, 7)
    result = grade(item, {"model": model})
    assert (result.score, result.max_score, result.correct) == (2.0, 2.0, True)
    assert grade(item, {"model": GlyphNet()}).score == 0


def test_bad_exercise_fields_name_the_field(tmp_path):
    from ftlab.assessment.bank import BankError

    good = ('format = 1\n[[items]]\nid = "x-one"\nkind = "exercise"\ntopic = "t"\ndifficulty = "easy"\n'
            'prompt = "Do it"\ncheck = "freeze_all"\nhint = "h"\nsolution = "s"\n')
    (tmp_path / "a.toml").write_text(good)
    assert load_bank(tmp_path).get("x-one").needs == ["model"]
    for old, new, field in [('check = "freeze_all"', 'check = "Freeze All"', "check"),
                            ('hint = "h"', 'hint = "h"\nsettings = [1]', "settings"),
                            ('hint = "h"', 'hint = "h"\npoints = -1', "points"),
                            ('solution = "s"\n', "", "solution"),
                            ('hint = "h"', 'hint = "h"\nexercise = "FreezeAll"', "exercise")]:
        (tmp_path / "a.toml").write_text(good.replace(old, new))
        with pytest.raises(BankError) as info:
            load_bank(tmp_path)
        assert (info.value.item_id, info.value.field) == ("x-one", field), new
