"""The course's source notebooks match the bank, carry valid nbgrader metadata, and score answers as intended."""
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

import ftlab
from ftlab.bank import load_bank
from ftlab.cli import main
from ftlab.course import check
from ftlab.course.assignments import ASSIGNMENTS, cells, secrets
from ftlab.course.build import build, source_path, stale

QUIZZES = Path(__file__).resolve().parents[1] / "quizzes"


def test_committed_notebooks_match_the_bank():
    assert stale(QUIZZES) == [], "run `ftlab course build` and commit quizzes/source"


def test_build_is_deterministic_and_check_sees_drift(tmp_path):
    assert len(build(tmp_path)) == len(ASSIGNMENTS)
    assert build(tmp_path) == []
    path = source_path(tmp_path, ASSIGNMENTS[0])
    path.write_text(path.read_text().replace("Fine-tuning concepts", "Edited by hand"))
    assert stale(tmp_path) == [path]


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_source_notebooks_are_clean_and_well_formed(assignment):
    nb = nbformat.read(source_path(QUIZZES, assignment), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))
    # the first cell is an nbgrader cell, so a restored emptied notebook starts in the right place
    assert "nbgrader" in nb.cells[0].metadata
    graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert graded and all(c.metadata["nbgrader"]["points"] > 0 for c in graded)


def test_secrets_cover_every_kind_of_key():
    bank = load_bank()
    concepts, freezing, strategy = (secrets(a, bank) for a in ASSIGNMENTS)
    assert bank.get("basics-card-definition").answer in concepts
    first = bank.get(ASSIGNMENTS[0].choices[0])
    assert f"q3 = {first.letters[first.answer]!r}" in concepts
    assert "param.requires_grad = False" in freezing
    assert bank.get("freezing-explain-role").model_answer in strategy
    assert 'ftlab.freeze(model, "stem", "stage1", "stage2")' in strategy


def test_every_choice_key_scores_full_and_others_zero(capsys):
    bank = load_bank()
    for assignment in ASSIGNMENTS:
        for item_id in assignment.choices:
            item = bank.get(item_id)
            key = item.letters[item.answer]
            wrong = item.letters[(item.answer + 1) % len(item.options)]
            assert check.choice(item_id, key, points=1) == 1.0
            assert check.choice(item_id, wrong, points=1) == 0.0
    out = capsys.readouterr().out
    assert "the answer is" not in out  # the bank's own feedback names the key; the course's never does


def test_explain_scores_a_share_of_the_points(capsys):
    text = "We start from a pretrained model, so we need less data than training from scratch."
    assert check.explain("basics-explain-approach", text, points=4) == 2.0
    assert check.explain("basics-explain-approach", "", points=4) == 0.0
    assert "2 of 4" in capsys.readouterr().out


def test_a_check_that_breaks_scores_zero_without_raising(capsys):
    assert check.exercise("FreezeAll", points=2, model="not a model") == 0.0
    assert check.finetune_structure(nn.Linear(2, 2), None, points=3) == 0.0
    assert "Could not check" in capsys.readouterr().out


def test_finetune_structure_gives_a_third_per_part(glyphnet):
    ftlab.freeze(glyphnet, "stem", "stage1", "stage2")
    assert check.finetune_structure(glyphnet, torch.optim.SGD(glyphnet.parameters(), lr=0.1), points=3) == 2.0
    trainable = [p for p in glyphnet.parameters() if p.requires_grad]
    assert check.finetune_structure(glyphnet, torch.optim.SGD(trainable, lr=0.1), points=3) == 2.0
    body = [p for g in ("stage3", "stage4") for p in getattr(glyphnet, g).parameters()]
    groups = [{"params": body, "lr": 0.01}, {"params": glyphnet.head.parameters(), "lr": 0.1}]
    assert check.finetune_structure(glyphnet, torch.optim.SGD(groups), points=3) == 3.0



def test_finetune_structure_explains_a_frozen_head_instead_of_failing(glyphnet, capsys):
    ftlab.freeze(glyphnet, "stem", "stage1", "stage2", "head")
    body = [p for g in ("stage3", "stage4") for p in getattr(glyphnet, g).parameters()]
    assert check.finetune_structure(glyphnet, torch.optim.SGD(body, lr=0.01), points=3) == 0.0
    shown = capsys.readouterr().out
    assert "[ ] a trainable head with 10 outputs" in shown and "Could not check" not in shown


def test_accuracy_is_all_or_nothing_and_restores_modes(glyphnet, digits):
    glyphnet.train()
    assert check.accuracy(glyphnet, digits, threshold=0.4, points=3) == 0.0
    assert check.accuracy(glyphnet, digits, threshold=0.0, points=3) == 3.0
    assert all(m.training for m in glyphnet.modules())


def test_cells_come_from_the_bank():
    bank = load_bank()
    text = "\n".join(c.source for c in cells(ASSIGNMENTS[0], bank))
    for item_id in ASSIGNMENTS[0].choices:
        assert bank.get(item_id).prompt in text
        assert all(option in text for option in bank.get(item_id).options)


def test_cli_course_build_check(tmp_path):
    main(["course", "build", "--check", "--root", str(QUIZZES)])
    with pytest.raises(SystemExit) as stopped:
        main(["course", "build", "--check", "--root", str(tmp_path)])
    assert stopped.value.code == 1
    main(["course", "build", "--root", str(tmp_path)])
    assert stale(tmp_path) == []
