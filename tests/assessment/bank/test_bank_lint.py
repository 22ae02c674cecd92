"""Bank lint: what an expert reviewer checks that a program can check too, on the real bank files."""
import re
from collections import Counter
from itertools import combinations

import pytest

from ftlab.assessment.bank import DIFFICULTIES, Choice, Exercise, Explain, load_bank
from ftlab.assessment.selfquiz.revise import REVISABLE, SYLLABUS

BANK = load_bank()
CHOICES = [i for i in BANK.items if isinstance(i, Choice) and i.kind == "choice"]
MAX_SHARE = 0.35  # answer position and longest-option-correct must stay near chance (25% with 4 options)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9_.]+", text.lower())


def jaccard(a: str, b: str) -> float:
    x, y = set(words(a)), set(words(b))
    return len(x & y) / len(x | y)


def test_answer_positions_are_near_chance():
    counts = Counter(item.letters[item.answer] for item in CHOICES)
    shares = {letter: n / len(CHOICES) for letter, n in counts.items()}
    assert max(shares.values()) <= MAX_SHARE, shares


def test_the_longest_option_is_not_a_giveaway():
    longest = [i.id for i in CHOICES if len(i.options[i.answer]) == max(map(len, i.options))]
    assert len(longest) / len(CHOICES) <= MAX_SHARE, longest


@pytest.mark.parametrize("item", CHOICES, ids=lambda i: i.id)
def test_prompt_does_not_list_its_own_answer(item):
    prompt = item.prompt.lower()
    assert item.options[item.answer].lower() not in prompt
    assert sum(option.lower() in prompt for option in item.options) <= 1  # a prompt listing options eliminates them


@pytest.mark.parametrize("item", [i for i in BANK.items if isinstance(i, (Choice, Explain))], ids=lambda i: i.id)
def test_hints_are_a_ladder_that_starts_with_a_nudge(item):
    ladder = item.hints
    assert ladder[0] and all(ladder)
    if isinstance(item, Explain) or len(item.options) >= 3:
        assert len(ladder) == 2 and ladder[0] != ladder[1]
    if isinstance(item, Choice) and item.kind == "choice":
        right = words(item.options[item.answer])
        nudge = " ".join(words(item.hint))
        # The nudge may not quote the answer: no run of 4 of its words (or the whole of a 2-3 word answer).
        runs = [" ".join(right[k:k + 4]) for k in range(max(1, len(right) - 3))] if len(right) >= 2 else []
        assert not any(run in nudge for run in runs), item.hint
        assert not re.search(rf"\b(option|answer) {item.letters[item.answer]}\b", item.hint, re.I)
        assert all(f"\"{item.options[item.answer]}\"" not in rung for rung in ladder[1:])  # rules out wrong ones only


@pytest.mark.parametrize("item", CHOICES, ids=lambda i: i.id)
def test_every_distractor_has_a_distinct_misconception(item):
    texts = list(item.mistakes.values())
    assert len(set(texts)) == len(texts) and all(len(t) >= 25 for t in texts)
    assert len({o.lower() for o in item.options}) == len(item.options)


def test_no_near_duplicate_questions():
    graded = [i for i in BANK.items if i.kind in ("choice", "truefalse")]
    close = [(a.id, b.id) for a, b in combinations(graded, 2) if jaccard(a.prompt, b.prompt) >= 0.6]
    assert not close
    same_answer = [(a.id, b.id) for a, b in combinations(CHOICES, 2)
                   if a.options[a.answer].lower() == b.options[b.answer].lower()]
    assert not same_answer


def test_one_difficulty_scale_and_every_level_is_used():
    assert DIFFICULTIES == ("easy", "medium", "hard")
    assert {i.difficulty for i in BANK.items} == set(DIFFICULTIES)


def test_every_topic_has_a_place_in_the_syllabus_and_revisable_items():
    assert set(BANK.topics) <= set(SYLLABUS)
    for topic in BANK.topics:
        assert any(i.kind in REVISABLE for i in BANK.select(topic=topic)), topic


@pytest.mark.parametrize("item", [i for i in BANK.items if isinstance(i, Exercise)], ids=lambda i: i.id)
def test_every_exercise_names_recall_items_of_its_concept(item):
    recall = [BANK.get(i) for i in item.recall]
    assert recall and all(r.kind in REVISABLE for r in recall)
    assert any(r.topic == item.topic for r in recall)


def test_the_lint_can_fail():
    """The checks above reject the faults they name, shown on edited copies of real items."""
    from dataclasses import replace

    item = BANK.get("recipe-mc-five-classes")
    leaky = replace(item, hint="Freeze the body, swap in a 5-output head and train it, then unfreeze.")
    assert any(" ".join(words(leaky.options[leaky.answer])[k:k + 4]) in " ".join(words(leaky.hint))
               for k in range(len(words(leaky.options[leaky.answer])) - 3))
    skewed = [replace(i, answer=0) for i in CHOICES]
    assert Counter(i.answer for i in skewed)[0] / len(skewed) > MAX_SHARE
    assert jaccard("What is the main benefit of fine-tuning?", "What is the main benefit of fine-tuning a net?") >= 0.6


def test_retired_items_say_why_and_are_never_asked():
    from ftlab.assessment.selfquiz import pick

    retired = [i for i in BANK.items if i.retired]
    assert [i.id for i in retired] == ["transfer-explain-future"] and all(len(i.retired) > 30 for i in retired)
    assert not {i.id for i in retired} & {i.id for i in pick(BANK, n=len(BANK))}
