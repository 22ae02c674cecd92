"""The course's private free-text items under the bank's scorer: the never-shown solution and honest paraphrases
earn every point; negated, misconceived, keyword-list, pasted and echoed answers lose theirs; the grader sends
the unsure ones to a person and refuses a self-rating as a recall answer."""
from pathlib import Path

import pytest

from ftlab.assessment.bank import Card, Context, grade
from ftlab.assessment.course.assignments import ASSIGNMENTS, BY_NAME, cells, graded, secrets
from ftlab.assessment.course.grader import GradeCells
from ftlab.assessment.course.keys import Keys, KeysError, load_keys

QUIZZES = Path(__file__).resolve().parents[3] / "quizzes"
KEYS = load_keys(QUIZZES)
FREE_TEXT = [i for a in ASSIGNMENTS for i in a.recall + a.explains]

# Answers written for these tests, apart from the items' own texts. Per item: honest paraphrases (full marks),
# then wrong answers by kind, each expected to earn nothing.
HONEST = {
    "course-card-transfer": [
        "The early layers and their general features are reused from pretraining, while a new head for our "
        "classes is trained on the target images.",
        "We keep the pretrained weights; the last layer is replaced and learned from scratch on our data.",
    ],
    "course-card-frozen-tensor": [
        "requires_grad is False for it, so autograd computes no gradient and the optimizer leaves the weight "
        "unchanged.",
        "p.requires_grad = False: no gradient is tracked, so its value is never updated.",
        "Autograd does not compute a gradient for it, so its value stays fixed during training.",
    ],
    "course-explain-plan": [
        "Take a model pretrained on ImageNet, replace the classifier head with a new one for my classes, freeze "
        "the early layers and train the rest. With only 50 images per class, training from scratch would overfit "
        "badly.",
        "Use a pretrained net with a new head, freeze the backbone, and since 50 photos is little data, training "
        "from scratch would overfit.",
    ],
    "course-explain-lr": [
        "The pretrained weights are already close to a good solution, so small steps suffice; a large learning "
        "rate would destroy the learned features.",
    ],
    "course-explain-batchnorm": [
        "In train mode BatchNorm updates its running mean and variance every batch; these are buffers, so freezing "
        "the weights does not stop it. Small batches give noisy statistics.",
    ],
}
WRONG = {
    "course-card-transfer": {
        "negated": "The pretrained features are not kept, and no new head is trained.",
        "misconception": "Nothing carries over: fine-tuning trains the whole network from scratch and reuses the "
                         "old head unchanged.",
        "from scratch": "Everything is relearned from random initialisation.",
        "keywords": "features, weights, head, new classes, target data",
        "echo": "What is carried over from the source task when you fine-tune, and what is learned anew.",
    },
    "course-card-frozen-tensor": {
        "negated": "Its requires_grad is not False and the optimizer still updates it.",
        "misconception": "You write model.trainable = False and the frozen parameters still get updated, just more "
                         "slowly.",
        "keywords": "requires_grad, False, gradient, optimizer",
        "echo": "In PyTorch terms, a parameter is frozen.",
    },
    "course-explain-plan": {
        "negated": "I would not use a pretrained model, keep the old head, and not freeze anything; overfitting is "
                   "not a problem with 50 photos.",
        "misconception": "Fine-tuning trains the network from scratch; freeze the last layers and train the early "
                         "layers; from scratch works as well with small data.",
        "keywords": "pretrained, new head, freeze early layers, overfit, small data",
        "echo": "I have 50 labelled photos per class for a new task. I would fine-tune a pretrained network "
                "because it beats training from scratch here.",
        "hint": "Start from what the pretrained network already knows, then say which parts you train.",
    },
    "course-explain-lr": {
        "negated": "The pretrained weights are not good yet, and a big learning rate would not damage the features.",
        "misconception": "Pretrained weights are no better than random ones, and a high learning rate keeps the "
                         "features safe.",
        "keywords": "pretrained, good weights, destroy features, forgetting, large learning rate",
        "echo": "The learning rate of a pretrained body during fine-tuning should compare with the one used to "
                "train from scratch.",
    },
    "course-explain-batchnorm": {
        "negated": "BatchNorm does not update its running statistics in train mode; freezing stops everything, and "
                   "batch size is not an issue.",
        "misconception": "Train mode only changes Dropout. Setting requires_grad False also freezes the running "
                         "statistics. Batch statistics are as good as the pretrained ones.",
        "keywords": "running mean, running variance, buffers, small batches, noisy",
        "echo": "Frozen BatchNorm layers are kept in eval mode while the rest of the model trains.",
        "hint": "What does a BatchNorm layer update that is not a parameter?",
    },
}


def _shown(item) -> str:
    """The text a learner may have seen and pasted: the card's answer or the explain item's model answer."""
    return item.answer if isinstance(item, Card) else item.model_answer


def test_every_free_text_item_of_the_course_is_covered_here():
    assert sorted(HONEST) == sorted(WRONG) == sorted(FREE_TEXT)
    for item_id in FREE_TEXT:
        item = KEYS.bank.get(item_id)
        assert item.concepts and item.solution and all(c.misconceptions for c in item.concepts), item_id


@pytest.mark.parametrize("item_id", FREE_TEXT)
def test_the_solution_and_honest_paraphrases_earn_full_marks(item_id):
    item = KEYS.bank.get(item_id)
    for text in [item.solution, *HONEST[item_id]]:
        result = grade(item, text)
        assert result.score == result.max_score and not result.flags, (text, result.feedback)
        assert result.confident or text != item.solution, result.feedback  # a paraphrase may still go to a person


@pytest.mark.parametrize("item_id", FREE_TEXT)
def test_wrong_answers_of_every_kind_earn_nothing(item_id):
    item = KEYS.bank.get(item_id)
    for kind, text in {**WRONG[item_id], "pasted": _shown(item)}.items():
        hints = tuple(item.hints) if kind == "hint" else ()  # repeating a hint earns nothing where one was shown
        result = grade(item, text, Context(shown=(_shown(item),), hints=hints, for_instructor=True))
        assert result.score == 0, (kind, result.feedback)
        if kind in ("negated", "misconception", "from scratch"):
            assert result.diagnosis, kind  # feedback names the wrong belief
        if kind in ("keywords", "pasted"):
            assert result.flags, kind  # a zero the guards are sure of: nothing else is claimed


def test_a_partial_answer_earns_its_part_and_a_swapped_one_loses_the_swapped_point():
    plan = KEYS.bank.get("course-explain-plan")
    assert grade(plan, "Start from a pretrained model and put a new head on it for my classes.").score == 2
    swapped = grade(plan, "Load ImageNet weights, add a new output layer, freeze the late layers and train the "
                          "early layers; scratch would overfit.")
    assert swapped.score == 3 and "freeze the last layers" in swapped.diagnosis
    card = KEYS.bank.get("course-card-transfer")
    assert grade(card, "The pretrained features carry over.").score == 0.5


SPEC = graded(BY_NAME["concepts"])


def _recall(n: int, text: str):
    item_id = BY_NAME["concepts"].recall[n - 1]
    return GradeCells().item(SPEC[f"{item_id}-test"], 1.0, f"q{n} = {text!r}", KEYS)


def test_the_grader_scores_recall_cells_and_sends_unsure_ones_to_a_person():
    frozen = KEYS.bank.get("course-card-frozen-tensor")
    right = _recall(2, frozen.solution)
    assert right.score == 1.0 and right.confident
    transfer = KEYS.bank.get("course-card-transfer")
    wrong = _recall(1, WRONG["course-card-transfer"]["misconception"])
    assert wrong.score == 0 and wrong.confident
    assert any(m.name in line for line in wrong.lines for c in transfer.concepts for m in c.misconceptions)
    assert _recall(2, WRONG["course-card-frozen-tensor"]["keywords"]).confident  # keywords: a sure zero
    pasted = _recall(2, frozen.answer)
    assert pasted.score == 0 and not pasted.confident  # a paste: zero, and a person sees it
    unsure = _recall(1, "The knowledge carries over and the head is new")  # people rarely credit "the head is new"
    assert unsure.score == 1.0 and not unsure.confident and "Provisional" in unsure.outputs(1)[0].text  # a suggestion
    blank = _recall(1, "")
    assert blank.score == 0 and blank.confident


@pytest.mark.parametrize("rating", ["easy", "good", "Easy ", 4, 3])
def test_a_self_rating_is_no_recall_answer(rating):
    verdict = GradeCells().item(SPEC["course-card-transfer-test"], 1.0, f"q1 = {rating!r}", KEYS)
    assert verdict.score == 0 and "in words" in verdict.lines[0]


def test_solution_cells_hold_the_never_shown_solutions_which_count_as_secrets():
    for assignment in ASSIGNMENTS:
        sources = "\n".join(cell.source for cell in cells(assignment, KEYS))
        texts = secrets(assignment, KEYS)
        for item_id in assignment.recall + assignment.explains:
            item = KEYS.bank.get(item_id)
            assert item.solution in sources and _shown(item) not in sources
            assert item.solution in texts and _shown(item) in texts
        assert "" not in texts


def test_a_free_text_item_without_a_solution_refuses_to_build():
    bank = KEYS.bank
    bare = type(bank)([item if item.id != "course-card-transfer" else Card(**{
        **{f: getattr(item, f) for f in ("id", "kind", "topic", "difficulty", "prompt", "answer", "concepts")}})
        for item in bank.items])
    with pytest.raises(KeysError, match="course-card-transfer.*solution"):
        cells(BY_NAME["concepts"], Keys(bare, KEYS.solutions))
