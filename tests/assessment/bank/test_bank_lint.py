"""Bank lint: what an expert reviewer checks that a program can check too, on the real bank files."""
import re
import statistics
from collections import Counter
from itertools import combinations

import pytest
from rapidfuzz import fuzz

from ftlab.assessment.bank import DIFFICULTIES, Card, Choice, Exercise, Explain, load_bank
from ftlab.assessment.selfquiz.revise import REVISABLE, SYLLABUS

BANK = load_bank()
CHOICES = [i for i in BANK.items if isinstance(i, Choice) and i.kind == "choice"]
MAX_SHARE = 0.35  # answer position and longest-option-correct must stay near chance (25% with 4 options)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9_.]+", text.lower())


STOP = set("a an the of to in on and or is are be it its this that for with by from as at what which why how does "
           "do you your when than while same can may most more much one their them they there so if not no true "
           "false".split())
SAME_FACT = 60  # token-sort similarity (0-100) of two items' prompt + answer above which they drill the same fact
# Pairs above SAME_FACT that an expert keeps because they ask from different angles, each with the reason.
DISTINCT_ANGLES = {
    ("freezing-card-pytorch", "freezing-mc-snippet"): "write the loop from memory vs pick it among broken snippets "
                                                     "(the syllabus asks both, 001 and 002)",
    ("freezing-card-attribute-trap", "freezing-mc-module-attribute"): "explain the trap vs predict what a run does",
    ("lr-card-discriminative", "lr-mc-discriminative"): "recall the idea vs read optimizer code",
    ("basics-card-less-data", "basics-mc-small-dataset"): "recall how much data vs judge which dataset gains most",
    ("basics-mc-pretrained-model", "basics-mc-small-dataset"): "different facts sharing words: what a pretrained "
                                                              "model is vs when fine-tuning pays off",
    ("layers-card-strategy", "layers-tf-early-generic"): "the rule vs the observation behind it (what early "
                                                          "filters detect)",
    ("recipe-card-strategy", "recipe-mc-five-classes"): "recall the two phases vs choose among plausible sequences",
}
LENGTH_RATIO = 3.0  # a distractor more than this many times shorter or longer than the other options stands out


def stems(text: str) -> list[str]:
    """Content words cut to 5 letters, so 'freeze', 'freezing' and 'frozen'... at least 'freez*' meet."""
    return [w[:5] for w in re.findall(r"[a-z0-9_]+", text.lower()) if w not in STOP]


def fact(item) -> str:
    """What an item drills: its prompt and the answer it keys, as content words."""
    if isinstance(item, Card):
        answer = item.answer
    elif item.kind == "truefalse":
        answer = item.explanation
    else:
        answer = f"{item.options[item.answer]} {item.explanation}"
    return " ".join(stems(f"{item.prompt} {answer}"))


def same_fact_pairs(bank) -> list[tuple[str, str, float]]:
    """Pairs of recall and check items of one topic whose prompt + answer are near-duplicates (rapidfuzz)."""
    items = [i for i in bank.items if i.kind in ("card", "choice", "truefalse") and not i.retired]
    return [(*sorted((a.id, b.id)), round(score)) for a, b in combinations(items, 2) if a.topic == b.topic
            and (score := fuzz.token_sort_ratio(fact(a), fact(b))) >= SAME_FACT]


def giveaway(item: Choice) -> bool:
    """The stem repeats most of its keyed option's words, and more of them than of any distractor's."""
    prompt = set(stems(item.prompt))
    share = [len(set(stems(o)) & prompt) / max(1, len(set(stems(o)))) for o in item.options]
    return share[item.answer] >= 0.5 and all(share[item.answer] > s for k, s in enumerate(share) if k != item.answer)


def odd_length(item: Choice) -> list[str]:
    """Distractors far shorter or longer than the median of the other options; predict-the-output items, whose
    key is code or a number, are left out (an output is as short as it is)."""
    if re.search(r"[()=\[\]]|^\d", item.options[item.answer]):
        return []
    odd = []
    for k, option in enumerate(item.options):
        middle = statistics.median(len(o) for j, o in enumerate(item.options) if j != k)
        if k != item.answer and (len(option) * LENGTH_RATIO < middle or len(option) > LENGTH_RATIO * middle):
            odd.append(option)
    return odd


def two_claims(statement: str) -> bool:
    """A true/false statement joining two claims, so that one can be true and the other false."""
    claim = re.sub(r"\([^)]*\)", "", statement.split(":", 1)[-1]).lower()
    return bool(re.search(r";|, and |\band therefore\b|, so |\bbecause\b|, which means", claim))


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


def test_no_two_items_drill_the_same_fact():
    found = {(a, b): score for a, b, score in same_fact_pairs(BANK)}
    assert set(found) <= set(DISTINCT_ANGLES), {k: v for k, v in found.items() if k not in DISTINCT_ANGLES}
    assert set(DISTINCT_ANGLES) <= set(found)  # an exception nobody needs any more is removed


@pytest.mark.parametrize("item", CHOICES, ids=lambda i: i.id)
def test_the_stem_does_not_give_its_answer_away(item):
    assert not giveaway(item)


@pytest.mark.parametrize("item", CHOICES, ids=lambda i: i.id)
def test_no_distractor_stands_out_by_length(item):
    assert not odd_length(item)


@pytest.mark.parametrize("item", [i for i in BANK.items if i.kind == "truefalse"], ids=lambda i: i.id)
def test_a_true_false_item_states_one_claim(item):
    assert not two_claims(item.prompt)


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
    which = BANK.get("layers-mc-why-last-first")  # the old "which layers" restatement of it
    restated = replace(which, id="layers-mc-restated", prompt="Which layers of a vision model are usually fine-tuned?",
                       options=["Only the early layers", "The later layers, which capture task-specific features",
                                "Only the input layer", "All layers equally"], answer=1)
    assert any("layers-mc-restated" in pair for pair in same_fact_pairs(replace(BANK, items=[*BANK.items, restated])))
    pretrained = BANK.get("transfer-mc-pretrained-approach")  # its old stem named its keyed option
    assert giveaway(replace(pretrained, prompt="Compared with developing your own source model, which step does the "
                                               "pretrained-model approach to transfer learning skip?",
                            options=[*pretrained.options[:3], "Developing the source model"]))
    assert odd_length(replace(pretrained, options=[*pretrained.options[:3][:2], "No", pretrained.options[3]]))
    assert two_claims("True or false: the target dataset is smaller than the source dataset, and therefore it is "
                      "different from it.")
    assert not two_claims("True or false: a frozen tensor (requires_grad = False, so no .grad) is left unchanged.")


def test_retired_items_say_why_and_are_never_asked():
    from ftlab.assessment.selfquiz import pick

    retired = [i for i in BANK.items if i.retired]
    assert [i.id for i in retired] == ["transfer-explain-future"] and all(len(i.retired) > 30 for i in retired)
    assert not {i.id for i in retired} & {i.id for i in pick(BANK, n=len(BANK))}
