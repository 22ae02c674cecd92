"""Free text as learners and instructors meet it: `ftlab bank try`, evidence for every decision, the grading
context (paste guard, who reads the feedback), determinism, and the benchmark on a labelled set."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ftlab.assessment.bank import Context, grade, load_bank
from ftlab.bench.scorer import main as bench_main
from ftlab.cli import main

BANK = load_bank()
LR = BANK.get("lr-explain-high")
NEW_ITEM = '''format = 1
topic = "augmentation"

[[items]]
id = "aug-explain-why"
kind = "explain"
difficulty = "easy"
prompt = "Why does data augmentation help when fine-tuning on a small dataset?"
hint = "Think of what the model sees in each epoch."
model_answer = "Random flips and crops show the model new variants of each image, so it cannot memorise the few images and overfits less."
solution = "Augmented copies act as extra training data: the network sees varied versions and overfits less."
[[items.concepts]]
name = "augmentation makes varied new versions of the images"
phrasings = ["random flip", "random crop", "new variants", "varied versions", "extra data", "more data"]
[[items.concepts]]
name = "so the model overfits less"
phrasings = ["overfit less", "not memorise", "less overfit", "generalise better"]
[[items.concepts.misconceptions]]
name = "augmentation makes overfitting worse"
phrasings = ["overfit more", "more overfit"]
'''


def test_bank_try_prints_each_decision_with_its_evidence_for_a_new_item(tmp_path, capsys):
    path = tmp_path / "augmentation.toml"
    path.write_text(NEW_ITEM)
    main(["bank", "try", "aug-explain-why", "Random crops give the network new variants of every photo, so the "
          "model overfits less.", "--bank", str(path)])
    out = capsys.readouterr().out
    assert "asserted      augmentation makes varied new versions of the images" in out
    assert "you wrote: 'Random crops give the network new variants of every photo'" in out
    assert "score 2 of 2, confident" in out
    main(["bank", "try", "aug-explain-why", "augmentation crops flips variants memorise overfit less",
          "--bank", str(path)])
    assert "not addressed so the model overfits less" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="no item 'nope' here; items with concepts: aug-explain-why"):
        main(["bank", "try", "nope", "x", "--bank", str(path)])
    with pytest.raises(SystemExit, match="choice item without concepts"):
        main(["bank", "try", "basics-mc-main-benefit", "x"])


@pytest.mark.parametrize("item_id,answer", [
    ("lr-explain-high", "pretrained weights large steps big updates forget destroy unstable diverge"),
    ("lr-explain-high", "Unstable, diverge. Destroy forget! big updates large steps pretrained weights"),
    ("similarity-explain-which-layers", "dataset size similar domain edges task specific overfit validation monitor"),
])
def test_a_run_of_keywords_asserts_nothing_in_any_order_or_punctuation(item_id, answer):
    result = grade(BANK.get(item_id), answer)
    assert result.score == 0 and result.confident and not result.evidence


def test_every_decision_quotes_the_answer_and_a_wrong_answer_earns_nothing_confidently():
    answer = ("The pretrained weights already hold good features. A high learning rate takes big steps that move "
              "the weights far from those values, so the learned features get destroyed, and training becomes "
              "unstable: the loss jumps around.")
    result = grade(LR, answer)
    assert result.score == 4 and result.confident
    for concept, verdict, words in result.evidence:
        assert verdict == "asserted" and words in answer and f"(you wrote: '{words}')" in result.feedback
    wrong = grade(BANK.get("basics-explain-approach"), "Fine tuning does not start from a pretrained model; you "
                  "initialise the weights randomly and train on a large dataset, which is faster.")
    assert wrong.diagnosis and not (wrong.confident and wrong.score > 0)  # never confidently half right


def test_the_paste_guard_and_the_unsure_note_follow_the_context():
    pasted = grade(LR, LR.model_answer, Context(shown=(LR.model_answer,)))
    assert pasted.score == 0 and "pasted-model-answer" in pasted.flags
    recalled = grade(LR, LR.model_answer)  # remembered in revision: nothing was on screen
    assert recalled.correct and not recalled.flags
    mixed = "The pretrained weights already encode good features. Large steps do not move the weights far."
    learner, instructor = grade(LR, mixed), grade(LR, mixed, Context(for_instructor=True))
    assert not learner.confident and "rate yourself" in learner.feedback
    assert "a person to confirm" not in learner.feedback and "a person to confirm" in instructor.feedback
    with pytest.raises(TypeError, match="grading Context"):
        grade(LR, "x", {"shown": ()})


@pytest.mark.slow
def test_the_same_text_gets_the_same_score_in_any_process():
    code = ("from ftlab.assessment.bank import grade, load_bank\nb = load_bank()\n"
            "for i in b.items:\n    if getattr(i, 'concepts', None):\n"
            "        r = grade(i, 'Freeze the early layers: they hold generic edges, so less data is needed and the "
            "weights stay fixed.')\n        print(i.id, r.score, r.confident, r.evidence)\n")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                           env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin",
                                "PYTHONPATH": str(Path(__file__).parents[3])}).stdout for seed in ("1", "4242")}
    assert len(runs) == 1 and runs.pop().count("\n") >= 30


def test_the_benchmark_reads_a_labelled_set_and_prints_the_issue_figures(tmp_path, capsys):
    labelled = tmp_path / "set.toml"
    labelled.write_text('''format = 1
[[answers]]
item = "lr-explain-high"
kind = "keyword-list"
group = "g"
text = "pretrained weights large steps big updates forget destroy unstable diverge"
labels = { "training becomes unstable" = "missing" }
score = 0
[[answers]]
item = "basics-card-less-data"
kind = "honest-full"
text = "Much less, because the pretrained features already do most of the work."
overall = "full"
[[answers]]
item = "basics-card-less-data"
kind = "honest-partial"
text = "Less than from scratch."
labels = { "much less data than training from scratch" = "stated" }
second = { "much less data than training from scratch" = "missing" }
''')
    bench_main(["--set", str(labelled)])
    out = capsys.readouterr().out
    for figure in ("confident and wrong", "honest sent to a person", "dishonest credit while confident",
                   "honest-full credit", "paraphrase groups within one point", "CPU time per answer"):
        assert figure in out
    assert re.search(r"honest-full credit +100.0%", out) and "confident and wrong (0)" in out
    assert "a second labeller against the first: concepts 0.0% the same, off by a point or more on 100.0%" in out


def test_calibration_names_the_concepts_a_person_should_check_when_left_out(tmp_path, capsys):
    bank = tmp_path / "bank"
    bank.mkdir()
    (bank / "aug.toml").write_text(NEW_ITEM)
    said = "augmentation makes varied new versions of the images"  # said here in words no phrasing reaches
    labelled = tmp_path / "set.toml"
    labelled.write_text("".join(f'''[[answers]]
item = "aug-explain-why"
kind = "honest-full"
text = "It overfits less because each epoch the model sees photo {n} rotated and recoloured."
labels = {{ "{said}" = "stated", "so the model overfits less" = "stated" }}
''' for n in range(8)))
    bench_main(["--set", str(labelled), "--bank", str(bank), "--calibration"])
    assert re.search(rf"0/8 +0.0%  NOT MARKED  aug-explain-why: {said}", capsys.readouterr().out)
    (bank / "aug.toml").write_text(NEW_ITEM.replace('"more data"]', '"more data"]\ncheck_when_absent = true'))
    bench_main(["--set", str(labelled), "--bank", str(bank), "--calibration"])
    assert re.search(rf"0/8 +0.0%  marked  aug-explain-why: {said}", capsys.readouterr().out)
    assert not grade(load_bank(bank).get("aug-explain-why"), "It overfits less, seeing photos rotated.").confident
