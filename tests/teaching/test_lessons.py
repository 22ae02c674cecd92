"""The lessons run top to bottom in the quick profile, and each claim their prose makes holds on the values
they measured (read back from the executed notebook, where ftlab.teaching.lessons.record put them). The student's
turns are filled in with a correct answer, and each prediction is committed, before the run."""
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import torch
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell

import ftlab
from ftlab.assessment.bank import Outcome
from ftlab.assessment.exercises import EXERCISES
from ftlab.teaching.lessons import MIME, beyond_noise, mean_sd, paired_beyond_noise

LESSONS = Path(__file__).resolve().parents[2] / "lessons"
NOTEBOOKS = sorted(p.name for p in LESSONS.glob("*.ipynb"))

# What a student who got it right types into each "your turn" cell (the lessons' variable names).
ANSWERS = {
    "ex-head-only": "mine.requires_grad_(False)\nmine.head.requires_grad_(True)",
    "ex-count-trainable": "n_trainable = sum(p.numel() for p in mine.parameters() if p.requires_grad)",
    "ex-freeze-all": "for p in mine.parameters():\n    p.requires_grad = False",
    "ex-optimizer-trainable": "my_optimizer = torch.optim.SGD([p for p in mine.parameters() if p.requires_grad], lr=0.01)",
    "ex-frozen-batchnorm": "mine.train()\nfor m in mine.modules():\n    if isinstance(m, torch.nn.BatchNorm2d):\n"
                           "        m.eval()",
    "ex-freeze-below": "for name in ['stem', 'stage1', 'stage2']:\n    getattr(mine, name).requires_grad_(False)",
    "ex-discriminative-lr": "mine.stage4.requires_grad_(True)\nmy_optimizer = torch.optim.SGD([\n"
                            "    {'params': mine.stage4.parameters(), 'lr': 1e-3},\n"
                            "    {'params': mine.head.parameters(), 'lr': 1e-2}], momentum=0.9)",
    "ex-layerwise-lr": "names = ['stem', 'stage1', 'stage2', 'stage3', 'stage4', 'head']\n"
                       "my_optimizer = torch.optim.SGD([{'params': getattr(mine, n).parameters(), 'lr': 0.01 / 2 ** (5 - i)}"
                       " for i, n in enumerate(names)], momentum=0.9)",
    "ex-replace-head": "mine.requires_grad_(False)\nmine.head = torch.nn.Linear(mine.head.in_features, N)",
    "ex-unfreeze-top": "mine.stage3.requires_grad_(True)\nmine.stage4.requires_grad_(True)\n"
                       "my_optimizer = torch.optim.SGD([{'params': [*mine.stage3.parameters(), *mine.stage4.parameters()],"
                       " 'lr': 0.005}, {'params': mine.head.parameters(), 'lr': 0.05}], momentum=0.9)",
    "ex-keep-source-head": "my_source_head = mine.head\nmine.head = torch.nn.Linear(mine.head.in_features, N)",
    "ex-wise-ft": "a, b = probe.state_dict(), tuned.state_dict()\nmy_mix = copy.deepcopy(tuned)\n"
                  "my_mix.load_state_dict({k: 0.5 * a[k] + 0.5 * b[k] if a[k].is_floating_point() else b[k] for k in b})",
    "ex-lora-budget": "mine = ftlab.lora(mine, rank=2)",
    "ex-bitfit": "mine.requires_grad_(False)\nfor name, p in mine.named_parameters():\n    p.requires_grad_(name.endswith('bias'))\n"
                 "mine.head.requires_grad_(True)",
}
TURN = re.compile(r"# Your turn \((ex-[a-z-]+)\)")


def prepare(nb, answers: dict[str, str] = ANSWERS) -> None:
    """Fill every your-turn cell with its correct answer; commit every prediction right after it is shown."""
    cells = []
    for cell in nb.cells:
        found = TURN.search(cell.source) if "your-turn" in cell.metadata.get("tags", []) else None
        if found:
            cell.source += "\n" + answers[found.group(1)]
        cells.append(cell)
        shown = re.match(r"(\w+) = predict\(", cell.source)
        if shown:
            name = shown.group(1)
            cells.append(new_code_cell(f"{name}.commit({name}.choices[0] if {name}.choices else {name}.low)"))
        if "ftlab.teaching.dashboard.dashboard(" in cell.source:  # what pressing Start does, on a short run
            cells.append(new_code_cell("dash.start(max_steps=30)"))
    # The cost. Peak RSS from VmHWM, the kernel's own high-water mark: ru_maxrss would carry over that of the
    # process that started the kernel (Linux keeps it across fork and exec), pytest's own after heavy tests.
    cells.append(new_code_cell("import time\nfrom pathlib import Path\nhwm = [l for l in Path('/proc/self/status')"
                               ".read_text().splitlines() if l.startswith('VmHWM')]\nlessons.record(kernel_cpu_s="
                               "time.process_time(), kernel_peak_rss_mb=int(hwm[0].split()[1]) / 1024)"))
    nb.cells = cells


def execute(name: str, tmp_path_factory, answers: dict[str, str] = ANSWERS, first: str = "") -> dict:
    """Run a lesson in a temporary copy of lessons/ (files it writes land there), with `first` as an extra first
    cell; return what it recorded."""
    work = tmp_path_factory.mktemp(Path(name).stem)
    shutil.copy(LESSONS / name, work / name)
    nb = nbformat.read(work / name, as_version=4)
    prepare(nb, answers)
    if first:
        nb.cells.insert(0, new_code_cell(first))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FTLAB_DATA_DIR", str(work / "ftlab-data"))  # self-check answers are not saved for the user
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    nbformat.write(nb, work / name)  # the executed copy, to look at after a failure
    measured = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", "".join(out.get("traceback", []))
            measured.update(out.get("metadata", {}).get(MIME, {}))
    print(f"{name}: kernel CPU time {measured['kernel_cpu_s']:.1f} s, peak RSS {measured['kernel_peak_rss_mb']:.0f} MB")
    return measured


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = execute(name, tmp_path_factory)
        return cache[name]
    return get


def test_there_are_eight_lessons():
    assert [n[:2] for n in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07", "08"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_lessons_are_stored_without_outputs_and_default_to_the_quick_profile(name):
    nb = nbformat.read(LESSONS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    params = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and 'PROFILE = "quick"' in params[0].source
    assert code[-1].source.startswith("lessons.self_check(")  # curated per lesson, not random over a topic
    turns = [TURN.search(c.source).group(1) for c in code if "your-turn" in c.metadata.get("tags", [])]
    assert len(turns) >= 2 and all(t in ANSWERS for t in turns)
    assert any(re.match(r"\w+ = predict\(", c.source) for c in code)


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_each_lesson_checks_the_students_turns_and_scores_the_prediction(run, name):
    m = run(name)
    turns = {k: v for k, v in m.items() if k.startswith("turn ")}
    assert len(turns) >= 2 and set(turns.values()) == {"Correct"}, turns
    predictions = [v for k, v in m.items() if k.startswith("prediction ")]
    assert predictions
    for p in predictions:
        assert p["predicted"] is not None and isinstance(p["right"], bool)
        if isinstance(p["measured"], str):
            assert p["right"] == (p["predicted"] == p["measured"])


@pytest.mark.slow
def test_lesson1_fine_tuning_beats_scratch_most_where_labels_are_few(run):
    m = run("01_why_fine_tune.ipynb")
    runs, gaps = m["runs"], m["gaps"]
    ks = sorted(runs["scratch"], key=int)
    for k in ks:  # "beats training from scratch": at every size, beyond the spread over seeds
        for better in ("fine-tune", "head only"):
            assert mean_sd(runs[better][k])[0] >= mean_sd(runs["scratch"][k])[0] + 0.2
            assert beyond_noise(runs[better][k], runs["scratch"][k])
    # "the smaller the labelled dataset, the more that head start matters": larger than its spread
    assert mean_sd(gaps[ks[0]])[0] > mean_sd(gaps[ks[-1]])[0] and beyond_noise(gaps[ks[0]], gaps[ks[-1]])
    assert m["acc"]["fine-tune"][ks[0]] >= 0.8 > m["acc"]["scratch"][ks[0]]


@pytest.mark.slow
def test_lesson1_fine_tuning_reaches_the_target_in_fewer_steps(run):
    steps = run("01_why_fine_tune.ipynb")["steps_to_target"]
    assert steps["fine-tune"] is not None
    assert steps["scratch"] is None or steps["scratch"] >= 2 * steps["fine-tune"]


@pytest.mark.slow
def test_lesson1_head_only_steps_are_much_cheaper(run):
    ms = run("01_why_fine_tune.ipynb")["ms_per_step"]
    assert ms["head only"] * 3 <= ms["fine-tune"]


@pytest.mark.slow
def test_lesson2_freezing_claims(run):
    m = run("02_freezing.ipynb")
    assert m["trainable_after_freeze"] == 0 and m["trainable_after_method"] == 0
    assert m["trainable_after_trainable_attr"] == m["n_tensors"] > 0
    assert m["freeze_layers_error"] == "AttributeError"
    assert m["frozen_drift_max"] == 0 and m["head_drift"] > 0
    assert m["bn_change_plain"] > 0 and m["feature_change_plain"] > 0 and m["bn_change_ftlab"] == 0
    assert m["stage4_has_grad"] and m["stage4_drift_stale"] == 0 and m["stage4_drift_trainer"] > 0


@pytest.mark.slow
def test_lesson3_freezing_more_groups_is_cheaper(run):
    similar = run("03_which_layers.ipynb")["results"]["similar"]
    order = ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    trainable = [similar[b]["trainable"] for b in order]
    assert trainable == sorted(trainable, reverse=True) and len(set(trainable)) == len(order)
    assert similar["head"]["images_per_s"] > 5 * similar["stem"]["images_per_s"]
    # the speed chart's split: skipping backward helps, the feature cache helps more
    skip = similar["head"]["images_per_s_without_cache"] / similar["stem"]["images_per_s"]
    cache = similar["head"]["images_per_s"] / similar["head"]["images_per_s_without_cache"]
    assert skip > 1 and cache > skip


@pytest.mark.slow
def test_lesson3_probes_early_generic_late_specific(run):
    m = run("03_which_layers.ipynb")
    probes, groups = m["probes"], ["stem", "stage1", "stage2", "stage3", "stage4"]
    gains = m["probe_gains"]
    # "at stage4 pretraining adds about fifty points on the similar target and only a few on the dissimilar one,
    # beyond the spread"
    assert mean_sd(gains["similar"]["stage4"])[0] >= 0.35 and mean_sd(gains["dissimilar"]["stage4"])[0] <= 0.15
    assert beyond_noise(gains["similar"]["stage4"], gains["dissimilar"]["stage4"])
    dissimilar = [mean_sd(probes["dissimilar pretrained"][g])[0] for g in groups]
    assert dissimilar[2] >= dissimilar[4]  # "stops rising after stage2"
    for t in ("similar", "dissimilar"):  # "the stem says little about the class, pretrained or random"
        assert abs(mean_sd(gains[t]["stem"])[0]) < 0.06


@pytest.mark.slow
def test_lesson3_the_dissimilar_target_needs_deeper_tuning(run):
    m = run("03_which_layers.ipynb")
    loss, cost = m["head_only_loss"], m["head_cost"]
    assert loss["dissimilar"] >= loss["similar"] + 0.03
    assert m["best"]["dissimilar"] != "head"
    # "head only falls further behind on the dissimilar target": over three seeds, beyond the spread
    assert mean_sd(cost["dissimilar"])[0] > mean_sd(cost["similar"])[0] and beyond_noise(cost["dissimilar"], cost["similar"])


@pytest.mark.slow
def test_lesson3_tuning_more_groups_on_two_labels_widens_the_gap(run):
    m = run("03_which_layers.ipynb")
    overfit, runs = m["overfit"], m["overfit_runs"]
    assert all(r["train_acc"] == 1.0 for r in overfit.values())
    # "compared seed by seed, tuning every group leaves a larger gap than the head alone, beyond the spread"
    assert overfit["stem"]["loss_gap"] > overfit["head"]["loss_gap"]
    assert paired_beyond_noise(runs["stem"]["loss_gap"], runs["head"]["loss_gap"])


@pytest.mark.slow
def test_lesson4_a_too_high_learning_rate_ruins_the_features(run):
    m = run("04_learning_rates.ipynb")
    sweep = m["sweep"]
    assert 0.001 <= m["best_lr"] <= 0.03
    assert sweep["1.0"] <= sweep[str(m["best_lr"])] - 0.5
    assert all(m["drift_high"][g] > 10 * m["drift_low"][g] for g in m["drift_low"])
    groups = ["stem", "stage1", "stage2", "stage3", "stage4", "head"]
    low = [m["drift_low"][g] for g in groups]
    assert low == sorted(low)  # at a good rate, the later groups move most
    pretrained, low, high = m["probes"]
    assert high <= pretrained - 0.3 and low >= pretrained - 0.05


@pytest.mark.slow
def test_lesson4_discriminative_rates_beat_the_same_uniform_rate(run):
    m = run("04_learning_rates.ipynb")
    runs = m["discriminative_runs"]
    same = next(k for k in runs if k.startswith("uniform lr"))
    assert mean_sd(runs["discriminative"])[0] >= mean_sd(runs[same])[0] + 0.1 and beyond_noise(runs["discriminative"], runs[same])
    assert m["dashboard_status"] == "done" and m["dashboard_steps"] == 30


@pytest.mark.slow
def test_lesson4_fine_tuning_wants_a_lower_rate_than_scratch(run):
    m = run("04_learning_rates.ipynb")
    assert m["best_scratch_lr"] >= 3 * m["best_lr"]
    scratch = m["sweeps"]["from scratch"]
    assert beyond_noise(scratch[str(m["best_scratch_lr"])], scratch[str(m["best_lr"])])


@pytest.mark.slow
def test_lesson4_the_finder_lands_near_the_sweeps_best_and_leaves_the_trainer_alone(run):
    m = run("04_learning_rates.ipynb")
    assert m["best_lr"] / 10 <= m["finder_suggested"] <= m["best_lr"] * 10  # "within a factor of a few"
    assert m["finder_trainer_step"] == 0


@pytest.mark.slow
def test_lesson5_the_recipe_against_the_alternatives(run):
    m = run("05_the_recipe.ipynb")
    c, runs = m["compared"], m["compared_runs"]
    assert m["final_val"] >= m["after_head"]
    # "training from scratch and a too-high rate are far behind, beyond any doubt"
    assert c["the recipe"] >= c["from scratch"] + 0.2 and beyond_noise(runs["the recipe"], runs["from scratch"])
    assert c["the recipe"] >= c["all layers, high LR"] + 0.5 and beyond_noise(runs["the recipe"], runs["all layers, high LR"])
    assert len(runs["no head first"]) == len(runs["the recipe"]) >= 3


@pytest.mark.slow
def test_lesson6_own_image_folder(run):
    m = run("06_your_own_images.ipynb")
    assert m["loaded"] == m["written"] > 0 and m["classes"] == ["circle", "square", "triangle"]
    assert m["test_acc"] >= m["chance"] + 0.3 and m["test_acc"] > m["after_head"]
    assert m["reloaded_same"]


@pytest.mark.slow
def test_lesson7_forgetting_and_shift(run):
    m = run("07_forgetting_and_shift.ipynb")
    measured, forgot = m["measured"], m["forgot"]
    assert set(forgot["LP"]) == {0.0}  # "a linear probe cannot forget"
    assert all(mean_sd(forgot[s])[0] > 0 for s in forgot if s != "LP")  # "every strategy that moves the body pays"
    assert m["most_forgotten"] == "FT at the head's rate" and m["lowest_loss"] != m["least_forgetting"]
    drift = m["drift"]  # "smaller after LP-FT than after fine-tuning, and far smaller than at the head's rate"
    assert drift["LP-FT"] < drift["FT"] and 3 * drift["FT"] < drift["FT at the head's rate"]
    v = m["verdicts"]  # "fine-tuning gains out of distribution instead of losing, and LP-FT ... gains less"
    assert v["FT - LP OOD"]["reproduced"] == "no" and v["FT - LP OOD"]["measured"] > 0
    assert v["LP-FT - FT OOD"]["measured"] < 0
    assert all(x["reproduced"] in ("yes", "no", "not resolved") for x in v.values())
    ood = {float(a): mean_sd(x)[0] for a, x in m["curve"]["OOD"].items()}
    assert paired_beyond_noise(m["curve"]["OOD"]["1.0"], m["curve"]["OOD"]["0.0"]) and ood[1.0] > ood[0.0]
    assert ood[0.0] < ood[0.5] < ood[1.0]  # "between the two ends, instead of above both"
    assert m["wise"]["reproduced"] in ("no", "not resolved")


@pytest.mark.slow
def test_lesson8_few_parameters(run):
    m = run("08_few_parameters.ipynb")
    assert m["delta_rank"] == m["rank"] and m["by_hand_error"] < 1e-6 and m["start_gap"] < 1e-6
    for target, by in m["results"].items():
        trainable = [by[s]["trainable"][0] for s in ("head only", "BitFit", f"LoRA r={m['rank']}", "full")]
        assert trainable == sorted(trainable) and trainable[-1] == m["total"]
        for r in by.values():  # SGD with momentum: one float32 buffer per trainable number
            assert r["state_bytes"][0] == 4 * r["trainable"][0]
        # "time does not shrink" with the trainable share; only the head alone is cheap
        full_ms = mean_sd(by["full"]["cpu_ms"])[0]
        assert mean_sd(by[f"LoRA r={m['rank']}"]["cpu_ms"])[0] > 0.5 * full_ms
        assert mean_sd(by["head only"]["cpu_ms"])[0] * 3 < full_ms
    assert m["memory_ratio"] > 10
    similar, dissimilar = m["results"]["similar"], m["results"]["dissimilar"]
    # "the dissimilar target is where training only the head falls short"
    assert beyond_noise(dissimilar["full"]["acc"], dissimilar["head only"]["acc"])
    gap = {t: mean_sd(r["full"]["acc"])[0] - mean_sd(r["head only"]["acc"])[0] for t, r in m["results"].items()}
    assert gap["dissimilar"] > gap["similar"]
    assert m["merge_gap"] < 1e-4 and m["merge_same"] and m["merged_params"] == m["total"]
    assert m["dashboard_status"] == "done" and m["dashboard_steps"] == 30
    assert m["base_changed"] == 0 and m["adapters_changed"] > 0 and not m["flags"]


# A wrong attempt at each lesson's turn, on the same kind of live objects: (setup, wrong code, what the check says).
SETUP_HEAD_ONLY = "ftlab.freeze(model)\nftlab.unfreeze(model, 'head')"
WRONG = {
    "ex-head-only": ("", "model.requires_grad_(False)", "has frozen tensors"),
    "ex-count-trainable": (SETUP_HEAD_ONLY, "n_trainable = sum(p.requires_grad for p in model.parameters())",
                           "You counted tensors"),
    "ex-freeze-all": ("", "model.trainable = False", "plain Python attribute"),
    "ex-optimizer-trainable": ("ftlab.freeze(model)\nftlab.unfreeze(model, 'stage4', 'head')",
                               "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)", "frozen tensors"),
    "ex-frozen-batchnorm": (SETUP_HEAD_ONLY + "\nmodel.train()", "model.eval()", "head is in eval mode"),
    "ex-freeze-below": ("", "for n in ['stage3', 'stage4']:\n    getattr(model, n).requires_grad_(False)",
                        "froze from the output side"),
    "ex-discriminative-lr": (SETUP_HEAD_ONLY, "model.stage4.requires_grad_(True)\n"
                             "optimizer = torch.optim.SGD(model.parameters(), lr=0.01)", "is not lower than head lr"),
    "ex-layerwise-lr": ("", "names = ['stem', 'stage1', 'stage2', 'stage3', 'stage4', 'head']\noptimizer = "
                        "torch.optim.SGD([{'params': getattr(model, n).parameters(), 'lr': 0.01 * 2 ** -i} "
                        "for i, n in enumerate(names)])", "gets a higher rate than"),
    "ex-replace-head": ("", "model.head = nn.Linear(model.head.in_features, 5)\nmodel.requires_grad_(False)",
                        "froze after replacing the head"),
    "ex-unfreeze-top": (SETUP_HEAD_ONLY, "model.stage3.requires_grad_(True)\nmodel.stage4.requires_grad_(True)\n"
                        "optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.05)",
                        "not below the head's"),
    "ex-keep-source-head": ("model = ftlab.get_model('glyphnet')", "model.head = torch.nn.Linear(model.head.in_features, 10)\n"
                            "source_head = model.head", "after replacing"),
    "ex-wise-ft": ("import copy\nprobe, tuned = model, copy.deepcopy(model)\nfor p in tuned.parameters():\n    p.data.add_(1.0)",
                   "mixed = tuned", "same object"),
    "ex-lora-budget": ("", "ftlab.freeze(model)\nftlab.unfreeze(model, 'head')", "Freezing layers is not LoRA"),
    "ex-bitfit": ("", "for n, p in model.named_parameters():\n    p.requires_grad_(n.endswith('bias'))", "is frozen"),
}


def lesson_turns() -> list[tuple[str, str]]:
    found = []
    for name in NOTEBOOKS:
        for cell in nbformat.read(LESSONS / name, as_version=4).cells:
            if "your-turn" in cell.metadata.get("tags", []):
                found.append((name, TURN.search(cell.source).group(1)))
    return found


@pytest.mark.parametrize("lesson,exercise_id", lesson_turns())
def test_a_wrong_attempt_at_each_turn_says_what_is_wrong(lesson, exercise_id):
    exercise = next(cls() for cls in EXERCISES.values() if cls.id == exercise_id)
    setup, wrong, says = WRONG[exercise_id]
    torch.manual_seed(0)
    objects = {"ftlab": ftlab, "model": ftlab.get_model("glyphnet", num_classes=5)}
    exec(setup, objects)  # may add objects (e.g. probe and tuned) or start from another model
    result = exercise.check_code(wrong, **{k: v for k, v in objects.items() if k != "__builtins__"})
    assert result.outcome is Outcome.INCORRECT
    assert says in result.feedback + (result.diagnosis or ""), result


def test_your_turn_names_its_choices_and_grades_live_objects():
    from ftlab.teaching.lessons import YourTurn

    with pytest.raises(ValueError, match="unknown exercise 'Freeze'; choose one of .*FreezeAll"):
        YourTurn("Freeze", "task")
    with pytest.raises(ValueError, match="no setting 'classes'"):
        YourTurn("ReplaceHead", "task", classes=3)
    turn = YourTurn("ReplaceHead", "task", num_classes=3)
    assert len(turn.hints) == 2 and turn.hints[0] == turn.exercise.hint()
    model = ftlab.get_model("glyphnet")
    assert turn.check(model=model).outcome is Outcome.INCORRECT
    exec("model.requires_grad_(False)\nmodel.head = torch.nn.Linear(model.head.in_features, 3)", {"model": model, "torch": torch})
    assert turn.check(model=model).correct and turn.grade.correct
    assert turn.check().outcome is Outcome.NOT_ATTEMPTED


def test_a_profile_is_shortened_from_the_first_cell_or_the_environment(monkeypatch):
    from ftlab.teaching import lessons

    assert lessons.profile("full", steps=5, input_size=64).steps == 5
    monkeypatch.setenv("FTLAB_PROFILE", "full,steps=4,input_size=32,limit=none")
    p = lessons.profile("quick", steps=99)  # the variable wins over what the cell says
    assert (p.name, p.model, p.steps, p.input_size, p.limit) == ("full", "resnet18", 4, 32, None)
    for bad, says in (("full,stpes=4", "no field 'stpes'; its fields: model, target"),
                      ("full,steps=many", "steps must be a whole number"), ("fast", "choose one of quick, full")):
        monkeypatch.setenv("FTLAB_PROFILE", bad)
        with pytest.raises(ValueError, match=says):
            lessons.profile("quick")


def test_feature_maps_come_a_batch_at_a_time_and_pooled_is_their_channel_mean(digits):
    from ftlab.teaching import lessons

    torch.manual_seed(0)
    model = ftlab.get_model("glyphnet", num_classes=10)
    seen = []
    model.stem.register_forward_hook(lambda m, i, o: seen.append(len(o)))
    images = digits.test.images[:50]
    maps = lessons.feature_maps(model, images, ["stem", "stage4"], batch_size=16)
    pooled = lessons.feature_maps(model, images, ["stem", "stage4"], pooled=True, batch_size=16)
    assert seen == [16, 16, 16, 2] * 2
    assert maps["stage4"].shape[:2] == pooled["stage4"].shape == (50, maps["stage4"].shape[1])
    assert torch.allclose(maps["stage4"].mean((2, 3)), pooled["stage4"], atol=1e-6)
    assert all(t.device.type == "cpu" for t in (*maps.values(), *pooled.values()))


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_numbers_that_depend_on_the_profile_are_computed_not_written(name):
    """Sentences once written for the quick profile, printed in the full one too: now computed in cells."""
    prose = " ".join(c.source for c in nbformat.read(LESSONS / name, as_version=4).cells if c.cell_type == "markdown")
    for written in ("about fifty points", "150 test images", "look like the digit", "0.7 points", "on 100 images"):
        assert written not in prose
