"""The concept matcher: wording robustness, negation, and measured precision/recall on labelled answers."""
import tomllib
from pathlib import Path

import pytest

from ftlab.bank import Concept, load_bank
from ftlab.bank.matcher import covered, normalize, stem, tokens

SAMPLES = Path(__file__).parents[1] / "ftlab" / "bank" / "samples"
BANK = load_bank()


def test_normalize_and_stem_fold_wording():
    assert normalize("Pre-trained  weights don't") .split() == ["pretrained", "weights", "do", "not"]
    assert stem("freezing") == stem("frozen") == stem("fixed") == "freez"
    assert stem("layers") == stem("blocks") == "layer"
    assert stem("updates") == stem("changed") == "updat"


def test_negation_is_scoped_to_its_clause():
    marked = {t.stem: t.negated for t in tokens("The weights are not updated, but the head trains")}
    assert marked == {"weight": False, "updat": True, "head": False, "train": False}


@pytest.mark.parametrize("answer,expected", [
    ("The early layers stay frozen.", True),
    ("We freeze the first blocks", True),
    ("the lower layers are kept locked", True),
    ("We do not freeze the early layers", False),
    ("The early layers are never frozen", False),
    ("Nothing in the early layers is frozen", False),
])
def test_phrasing_matches_paraphrases_and_respects_negation(answer, expected):
    concept = Concept("freeze early layers", ["freeze early layers"])
    assert covered(answer, [concept]) == [expected]


def test_negated_phrasing_needs_a_negation():
    concept = Concept("no scratch", ["not from scratch"])
    assert covered("instead of training from scratch", [concept]) == [True]
    assert covered("train it from scratch", [concept]) == [False]


def measure(path: Path) -> tuple[float, float, int]:
    """Precision and recall of concept detection over one labelled sample file, and the number of decisions."""
    samples = tomllib.loads(path.read_text(encoding="utf-8"))["samples"]
    tp = fp = fn = decisions = 0
    for sample in samples:
        item = BANK.get(sample["item"])
        assert all(1 <= n <= len(item.concepts) for n in sample["covers"]), sample
        for number, hit in enumerate(covered(sample["answer"], item.concepts), 1):
            wanted = number in sample["covers"]
            tp += hit and wanted
            fp += hit and not wanted
            fn += wanted and not hit
            decisions += 1
    return tp / (tp + fp), tp / (tp + fn), decisions


@pytest.mark.parametrize("name,min_precision,min_recall", [
    ("explain.toml", 0.90, 0.95),   # development set: phrasings and matcher were tuned against it
    ("holdout.toml", 0.90, 0.80),   # never used for tuning: the honest estimate
])
def test_concept_detection_precision_recall(name, min_precision, min_recall):
    precision, recall, decisions = measure(SAMPLES / name)
    print(f"\n{name}: precision {precision:.3f}, recall {recall:.3f} over {decisions} concept decisions")
    assert precision >= min_precision and recall >= min_recall, (precision, recall)


def test_samples_cover_every_explain_item():
    labelled = {s["item"] for f in SAMPLES.glob("*.toml") for s in tomllib.loads(f.read_text())["samples"]}
    assert labelled == {item.id for item in BANK.select(kind="explain")}
