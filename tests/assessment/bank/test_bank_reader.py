"""The second reader: learned from the answers people labelled, it makes the scorer sure only where both agree."""
import gzip
import json
from dataclasses import replace

import pytest

from ftlab.assessment.bank import BankError, Context, grade, load_bank
from ftlab.assessment.bank.grading import concept_decisions
from ftlab.assessment.bank.loader import ITEMS_DIR
from ftlab.assessment.bank.reader import LABELLED, _fitted, chances, off_by_a_point, read_labelled
from ftlab.assessment.bank.scorer import score
from ftlab.bench.scorer import COURSE_BANK, SETS, labelled_answers

BANK = load_bank()
COURSE = load_bank(COURSE_BANK)
LR = BANK.get("lr-explain-high")
FULL = ("The pretrained weights already hold good features. A high learning rate takes big steps that move the "
        "weights far from those values, so the learned features get destroyed, and training becomes unstable.")


@pytest.mark.parametrize("folder", [ITEMS_DIR, COURSE_BANK])
def test_the_packed_answers_are_the_open_sets_labels(folder):
    packed = {(item, a.text, a.stated) for item, answers in read_labelled(folder).items() for a in answers}
    sets = {(item, text, frozenset(stated)) for item, rows in
            labelled_answers(sorted(SETS.glob("*.toml")), folder).items() for text, stated in rows}
    assert packed == sets and len(packed) > 1000  # `python -m ftlab.bench scorer --pack` after a set changes


def test_a_full_answer_both_readings_agree_on_is_sure():
    result = grade(LR, FULL)
    assert result.score == 4 and result.confident
    assert all(p > 0.8 for p in chances(LR, FULL))


def test_a_credit_people_rarely_give_goes_to_a_person_and_the_feedback_names_it():
    card = COURSE.get("course-card-transfer")
    answer = "The knowledge carries over and the head is new"
    rules = score(answer, card.concepts, prompt=card.prompt, max_score=1.0)
    result = concept_decisions(card, answer, 1.0, Context())
    assert rules.confident and rules.credited == 2  # the rules alone would be sure of a full point
    assert not result.confident and result.doubted == (card.concepts[1].name,)
    feedback = grade(card, answer, Context(for_instructor=True)).feedback
    assert f"answers people labelled rarely say {card.concepts[1].name}" in feedback and "a person" in feedback


def test_a_concept_no_phrasing_reaches_is_credited_with_the_part_of_the_answer_that_states_it():
    item = BANK.get("basics-explain-adjust")
    answer = ("If you use it unchanged it only knows its old classes and its features are tuned to that data rather "
              "than yours. Fine-tuning trains it on your data so it can actually predict your classes, while holding "
              "on to the general stuff it learned.")
    rules = score(answer, item.concepts, prompt=item.prompt, max_score=4.0)
    result = concept_decisions(item, answer, 4.0, Context())
    learned = [d for d in result.decisions if d.learned]
    assert learned and result.credited == rules.credited + len(learned)
    quoted = {d.evidence for d in rules.decisions if d.evidence}
    for d in learned:  # a part of the answer the rules did not read, quoted as the evidence
        assert d.evidence in answer and not any(d.evidence in q or q in d.evidence for q in quoted)
        assert f"(you wrote: '{d.evidence}'; no phrasing matched" in grade(item, answer).feedback
    partial = grade(BANK.get("recipe-explain-steps"), "Load a pretrained ResNet and freeze all its parameters.")
    assert partial.score == 2  # answers that load and freeze usually replace the head too: this one does not say so


def test_an_answer_that_says_nothing_stays_a_sure_zero_whatever_its_words():
    item, listed = COURSE.get("course-explain-lr"), "smaller pretrained good large steps destroy features learned"
    assert min(chances(item, listed)) > 0.5  # people labelled notes like these as stating the concepts
    for answer in (listed, "I do not know."):  # nouns without a statement; too few words for the reader
        result = grade(item, answer)
        assert result.score == 0 and result.confident
    paste = grade(item, item.model_answer, Context(shown=(item.model_answer,)))
    assert paste.score == 0 and paste.confident  # what was on screen the reader never sees: the paste guard decides


def test_without_labelled_answers_the_rules_alone_decide():
    bare = replace(LR, labelled=())
    for answer in (FULL, "Big steps wreck the good pretrained features.", "It learns slower."):
        assert chances(bare, answer) is None
        assert grade(bare, answer).confident == score(answer, LR.concepts, prompt=LR.prompt, max_score=4.0).confident


def test_the_chance_of_being_a_point_off():
    assert off_by_a_point([1.0, 1.0], 2.0, 2.0) == 0
    assert off_by_a_point([0.5, 0.5], 2.0, 2.0) == pytest.approx(0.75)  # a person gives 1 or 0 with chance 3/4
    assert off_by_a_point([0.5, 0.5], 1.0, 1.0) == pytest.approx(0.25)  # a card: a point off only if both are missing
    one, other = {0: 0.09, 1: 0.82, 2: 0.09}, {0: 0.25, 1: 0.5, 2: 0.25}  # how many of the first two, last two
    assert off_by_a_point([0.9, 0.1, 0.5, 0.5], 2.0, 4.0) == pytest.approx(1 - sum(one[k] * other[2 - k] for k in one))


def test_the_same_text_gets_the_same_reading_after_a_fresh_fit():
    first = chances(LR, FULL)
    _fitted.cache_clear()
    assert chances(LR, FULL) == first


def test_labelled_answers_must_name_an_item_of_the_bank_and_never_come_from_toml(tmp_path):
    (tmp_path / "items.toml").write_text('format = 1\n[[items]]\nid = "a-card"\nkind = "card"\ntopic = "t"\n'
                                         'difficulty = "easy"\nprompt = "Why?"\nanswer = "Because."\n')
    (tmp_path / LABELLED).write_bytes(gzip.compress(json.dumps(
        {"format": 1, "items": {"no-such-item": [["text", []]]}}).encode()))
    with pytest.raises(BankError, match="no-such-item.*labelled answers for no explain item or card"):
        load_bank(tmp_path)
    (tmp_path / LABELLED).unlink()
    (tmp_path / "items.toml").write_text((tmp_path / "items.toml").read_text() + 'labelled = ["x"]\n')
    with pytest.raises(BankError, match="'labelled': unknown field"):
        load_bank(tmp_path)
