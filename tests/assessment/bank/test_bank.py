"""The shipped bank is well-formed, every item grades its own right answer, and bad files name file/item/field."""
from pathlib import Path

import pytest

from ftlab.assessment.bank import DIFFICULTIES, BankError, Card, Choice, Context, Exercise, Explain, Outcome, grade, load_bank
from ftlab.assessment.bank.loader import ITEMS_DIR
from ftlab.assessment.bank.checks import CHECKS
from ftlab.assessment.exercises import EXERCISES

BANK = load_bank()


def test_bank_is_large_and_varied():
    kinds = {item.kind for item in BANK.items}
    assert len(BANK) >= 60
    assert kinds == {"card", "choice", "truefalse", "explain", "exercise"}
    assert len(BANK.topics) >= 8
    assert len({item.id for item in BANK.items}) == len(BANK)


@pytest.mark.parametrize("item", BANK.items, ids=lambda item: item.id)
def test_every_item_is_well_formed_and_gradable(item):
    assert item.difficulty in DIFFICULTIES and item.topic and item.prompt
    if isinstance(item, Choice):
        assert set(item.mistakes) == set(range(len(item.options))) - {item.answer}
        assert item.hint and item.explanation
        assert grade(item, item.answer).correct
        assert grade(item, item.letters[item.answer].lower()).correct
        assert grade(item, item.options[item.answer]).correct
        for wrong, mistake in item.mistakes.items():
            result = grade(item, wrong)
            assert not result.correct and result.diagnosis == mistake and result.score == 0
    elif isinstance(item, Explain):
        pasted = grade(item, item.model_answer, Context(shown=(item.model_answer,)))  # on screen while answering
        assert pasted.score == 0 and "pasted-model-answer" in pasted.flags
    elif isinstance(item, Card):
        assert grade(item, "good").correct and not grade(item, "again").correct
    else:
        assert isinstance(item, Exercise) and item.check in CHECKS and item.hint and item.solution
        assert sum(cls.id == item.id for cls in EXERCISES.values()) == 1  # lessons bind every exercise by name


def test_select_filters_and_get():
    assert all(i.topic == "freezing" for i in BANK.select(topic="freezing"))
    assert {i.kind for i in BANK.select(kind="choice")} == {"choice", "truefalse"}
    assert all(i.difficulty == "hard" for i in BANK.select(difficulty="hard"))
    assert BANK.get("freezing-mc-snippet").kind == "choice"
    with pytest.raises(KeyError, match="no-such-item"):
        BANK.get("no-such-item")


GOOD = '''format = 1
topic = "t"

[[items]]
id = "q-one"
kind = "choice"
difficulty = "easy"
prompt = "Pick B"
options = ["a", "b", "c"]
answer = "B"
explanation = "b is right"
hint = "not a"
[items.mistakes]
A = "chose a"
C = "chose c"

[[items]]
id = "q-two"
kind = "explain"
difficulty = "hard"
prompt = "Explain"
model_answer = "x y"
hint = "h"
[[items.concepts]]
name = "x"
phrasings = ["x"]
[[items.concepts]]
name = "y"
phrasings = ["y"]
'''

BROKEN = [
    # (replace this, with that, expected item, expected field)
    ('answer = "B"', 'answer = "E"', "q-one", "answer"),
    ('difficulty = "easy"', 'difficulty = "trivial"', "q-one", "difficulty"),
    ('prompt = "Pick B"\n', "", "q-one", "prompt"),
    ('C = "chose c"\n', "", "q-one", "mistakes"),
    ('A = "chose a"', 'B = "chose b"', "q-one", "mistakes.B"),
    ('hint = "not a"', 'hint = "not a"\ncolour = "red"', "q-one", "colour"),
    ('phrasings = ["y"]', "phrasings = []", "q-two", "concepts[1].phrasings"),
    ('phrasings = ["y"]', 'phrasings = ["y"]\ncheck_when_absent = "yes"', "q-two", "concepts[1].check_when_absent"),
    ('kind = "explain"', 'kind = "essay"', "q-two", "kind"),
    ('id = "q-two"', 'id = "Q two"', "Q two", "id"),
    ('kind = "explain"', 'kind = "exercise"', "q-two", "concepts"),  # allowed fields follow the item's dataclass
]


@pytest.mark.parametrize("old,new,item_id,field", BROKEN, ids=[b[3] for b in BROKEN])
def test_malformed_file_error_names_file_item_and_field(tmp_path, old, new, item_id, field):
    assert old in GOOD
    (tmp_path / "broken.toml").write_text(GOOD.replace(old, new, 1))
    with pytest.raises(BankError) as info:
        load_bank(tmp_path)
    message = str(info.value)
    assert "broken.toml" in message and repr(item_id) in message and repr(field) in message
    assert (info.value.item_id, info.value.field) == (item_id, field)


def test_good_file_loads(tmp_path):
    (tmp_path / "good.toml").write_text(GOOD)
    bank = load_bank(tmp_path)
    assert [i.id for i in bank.items] == ["q-one", "q-two"] and bank.topics == ["t"]


def test_duplicate_ids_and_syntax_errors_are_reported(tmp_path):
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text(GOOD)
    with pytest.raises(BankError, match=r"b\.toml, item 'q-one', field 'id': duplicate id, already used in a\.toml"):
        load_bank(tmp_path)
    (tmp_path / "b.toml").write_text("format = 1\n[[items]\n")
    with pytest.raises(BankError, match=r"b\.toml: not valid TOML"):
        load_bank(tmp_path)


def test_missing_format_and_empty_directory(tmp_path):
    with pytest.raises(BankError, match="no \\*.toml item files"):
        load_bank(tmp_path)
    (tmp_path / "v.toml").write_text(GOOD.replace("format = 1", "format = 2"))
    with pytest.raises(BankError, match="field 'format'"):
        load_bank(tmp_path)


CHOICE = BANK.get("freezing-mc-snippet")
TRUEFALSE = BANK.get("freezing-tf-eval-freezes")


@pytest.mark.parametrize("answer,correct", [
    (0, True), ("A", True), ("a", True), (" a) ", True), (CHOICE.options[0], True),
    (1, False), ("C", False), ("model.trainable = False", False),
])
def test_choice_accepts_index_letter_or_text(answer, correct):
    result = grade(CHOICE, answer)
    assert result.correct is correct and result.outcome is not Outcome.NOT_ATTEMPTED


@pytest.mark.parametrize("answer", [None, 7, -1, "E", "", 2.5, ["A"], True])
def test_malformed_choice_answers_score_zero_and_say_what_is_expected(answer):
    result = grade(CHOICE, answer)
    assert result.score == 0 and result.outcome is Outcome.NOT_ATTEMPTED
    assert "expected an option letter A/B/C/D" in result.feedback


@pytest.mark.parametrize("answer,correct", [(False, True), ("False", True), ("b", True), ("f", True),
                                            (True, False), ("true", False), ("A", False)])
def test_truefalse_accepts_bools(answer, correct):
    assert grade(TRUEFALSE, answer).correct is correct


def test_wrong_choice_gets_the_misconception():
    result = grade(CHOICE, "B")
    assert "freeze_layers" in result.diagnosis and "AttributeError" in result.diagnosis
    assert result.feedback.startswith("Not quite: the answer is A)")


def test_card_self_ratings():
    card = BANK.get("freezing-card-pytorch")
    assert [grade(card, r).score for r in ("again", "hard", "good", "EASY", 3)] == [0, 0.5, 1, 1, 1]
    for bad in (0, 5, None, True):
        assert grade(card, bad).outcome is Outcome.NOT_ATTEMPTED
    assert grade(card, "perfect").score == 0  # not a rating: typed text, scored on the card's concepts


def test_explain_scores_k_of_n_and_lists_missing():
    item = BANK.get("recipe-explain-steps")
    result = grade(item, "Load a pretrained ResNet and freeze all its parameters.")
    assert (result.score, result.max_score) == (2, 5) and not result.correct
    assert result.feedback.startswith("You covered 2 of 5 concepts. Covered: start from a model with pretrained "
                                      "weights (load it) (you wrote: 'Load a pretrained ResNet and freeze all its")
    assert "Missing: replace the head with a new layer" in result.feedback
    assert result.missing == [c.name for c in item.concepts[2:]]
    for bad in ("", "   ", None, 42):
        assert grade(item, bad).outcome is Outcome.NOT_ATTEMPTED


def test_items_dir_is_package_data():
    assert ITEMS_DIR == Path(__file__).parents[3] / "ftlab" / "assessment" / "bank" / "items"


def test_the_kind_table_names_a_real_function_for_every_role_of_every_kind():
    from dataclasses import fields as dataclass_fields

    from ftlab.assessment.bank import KINDS

    roles = [f.name for f in dataclass_fields(next(iter(KINDS.values()))) if f.name != "item"]
    assert set(roles) == {"read", "grade", "terminal", "widget", "course", "anki"}
    for name, kind in KINDS.items():
        for role in roles:
            if getattr(kind, role) is None:  # only live-object exercises lack a terminal and a flashcard
                assert name == "exercise" and role in ("terminal", "anki")
                with pytest.raises(ValueError, match=f"no {role} view"):
                    kind.function(role)
            else:
                assert callable(kind.function(role)), (name, role)


def test_the_loader_allows_exactly_the_dataclass_fields(tmp_path):
    good = ('format = 1\n[[items]]\nid = "c-one"\nkind = "card"\ntopic = "t"\ndifficulty = "easy"\n'
            'prompt = "Say it"\nanswer = "It."\n')
    for extra, ok in [('solution = "It, typed."', True), ('retired = "kept for old ids"', True),
                      ('model_answer = "It."', False), ('hint = "h"', False)]:
        (tmp_path / "a.toml").write_text(good + extra + "\n")
        if ok:
            assert load_bank(tmp_path).get("c-one")
        else:
            with pytest.raises(BankError, match="unknown field for kind 'card'"):
                load_bank(tmp_path)


def test_grade_refuses_what_is_not_a_bank_item():
    with pytest.raises(TypeError, match="not a bank item"):
        grade("freezing-mc-snippet", "A")


def test_loading_and_grading_questions_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys\nfrom ftlab.assessment.bank import grade, load_bank\nbank = load_bank()\n"
            "for item in bank.items:\n    if item.kind != 'exercise':  # exercises grade live torch objects\n"
            "        grade(item, 'A')\n"
            "assert 'torch' not in sys.modules\nprint('no torch')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "no torch" in done.stdout, done.stderr[-2000:]


def test_a_card_grade_carries_the_self_rating_as_its_review_rating():
    card = BANK.get("freezing-card-pytorch")
    assert [grade(card, answer).rating for answer in ("again", 2, "good", 4, " Easy ")] == \
        ["again", "hard", "good", "easy", "easy"]
