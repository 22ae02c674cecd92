"""Every question and point of the syllabus seeds maps to bank items that exist."""
import os
import re
from pathlib import Path

import pytest

from ftlab.assessment.bank import load_bank

# The syllabus sits in shared/seeds beside the checkout (FTLAB_SEEDS_DIR points elsewhere).
SEEDS = Path(os.environ.get("FTLAB_SEEDS_DIR", Path(__file__).resolve().parents[4] / "shared" / "seeds"))
FILES = {"000": "000_a316ec7dfb34c36b.txt", "001": "001_95de7045d8cd115f.txt", "002": "002_c14f5203a0b84b28.txt",
         "003": "003_20105cd2e212f65f.txt", "004": "004_0d417bd754fc283a.txt"}

# Recall cards, quiz and "explain" items that 000 has and 001 repeats word for word.
SHARED = [
    ("what is the fine-tuning approach in machine learning?", ["basics-card-definition"]),
    ("why do we use fine-tuning instead of training a model from scratch?", ["basics-card-vs-scratch"]),
    ("what does it mean to 'freeze' layers during fine-tuning?", ["freezing-card-meaning"]),
    ("how does fine-tuning help in computer vision tasks?", ["basics-card-vision"]),
    ("what is a common strategy for choosing which layers to fine-tune?", ["layers-card-strategy"]),
    ("what is the main benefit of fine-tuning a pre-trained model?", ["basics-mc-main-benefit"]),
    ("during fine-tuning, what does freezing layers do?", ["freezing-mc-what-it-does"]),
    ("which layers are usually fine-tuned in computer vision models?", ["layers-mc-which"]),
    ("fine-tuning is especially useful when the new dataset is:", ["basics-mc-small-dataset"]),
    ("what is a pre-trained model?", ["basics-mc-pretrained-model"]),
    ("explain the fine-tuning approach and why it is useful", ["basics-explain-approach"]),
    ("describe the role of freezing layers during fine-tuning", ["freezing-explain-role"]),
]
COVERAGE = [(f, text, ids) for f in ("000", "001") for text, ids in SHARED] + [
    # 001: the five practice questions (hints and common mistakes become hint and mistakes fields).
    # Near-duplicates were merged: the purpose and benefit questions share basics-mc-main-benefit.
    ("001", "what is the main purpose of fine-tuning a pre-trained computer vision model?", ["basics-mc-main-benefit"]),
    ("001", "which code snippet correctly freezes the layers", ["freezing-mc-snippet", "ex-freeze-all"]),
    ("001", "given this pytorch code snippet for fine-tuning, what will be the output", ["freezing-mc-sum"]),
    ("001", "you tried fine-tuning but the model's accuracy did not improve", ["lr-mc-no-improvement"]),
    ("001", "you want to fine-tune a pre-trained cnn for a new image classification task with 5 classes",
     ["recipe-mc-five-classes", "ex-replace-head", "recipe-explain-steps"]),
    # 002: cards, quiz, explain (/5 and /4).
    ("002", "what is fine-tuning in machine learning?", ["basics-card-definition"]),
    ("002", "why do we freeze some layers during fine-tuning?", ["freezing-card-why"]),
    ("002", "in pytorch, how do you freeze layers of a model?", ["freezing-card-pytorch", "ex-freeze-all"]),
    ("002", "what is a common strategy to fine-tune a pre-trained model?", ["recipe-card-strategy"]),
    ("002", "how does using a smaller learning rate help during fine-tuning?", ["lr-card-small"]),
    ("002", "what does freezing layers in a model mean?", ["freezing-mc-what-it-does"]),  # merged
    ("002", "why start fine-tuning by training only the last layers?", ["layers-mc-why-last-first"]),
    ("002", "in pytorch, which attribute controls if a parameter is trainable?", ["freezing-mc-attribute"]),
    ("002", "what is a benefit of using a pre-trained model for fine-tuning?", ["basics-mc-main-benefit"]),  # merged
    ("002", "what happens if you use a large learning rate during fine-tuning?", ["lr-mc-large", "lr-explain-high"]),
    ("002", "explain the step-by-step process of fine-tuning", ["recipe-explain-steps"]),
    ("002", "describe why fine-tuning is useful compared to training a model from scratch",
     ["basics-explain-vs-scratch"]),
    # 003: five facts and three review questions.
    ("003", "fine-tuning typically involves unfreezing some of the layers", ["layers-card-strategy", "recipe-card-strategy"]),
    ("003", "the process usually requires less data than training a model from scratch",
     ["basics-card-less-data", "basics-tf-less-data"]),
    ("003", "fine-tuning can significantly improve model performance",
     ["basics-mc-main-benefit", "basics-card-generalization"]),
    ("003", "this approach allows for better generalization", ["basics-card-generalization"]),
    ("003", "careful selection of layers to fine-tune is crucial",
     ["overfit-card-too-many-layers", "overfit-mc-too-many-layers", "overfit-explain-many-layers"]),
    ("003", "how does fine-tuning improve the performance of models in specific tasks", ["basics-explain-adjust"]),
    ("003", "what considerations should be made when deciding which layers",
     ["similarity-explain-which-layers", "similarity-card-rule"]),
    ("003", "evaluate how fine-tuning techniques might change", ["transfer-explain-future"]),  # retired, see below
    # 004: the fill-in question, its worked steps, and the similar true/false and choice questions.
    ("004", "in transfer learning, layers are typically fine-tuned", ["layers-mc-which", "layers-card-strategy"]),
    ("004", "in transfer learning, the last few layers of the model are typically fine-tuned",
     ["layers-mc-which", "recipe-card-strategy", "layers-tf-early-generic"]),
    ("004", "in transfer learning, all layers of the pre-trained model are always frozen", ["transfer-tf-all-frozen"]),
    ("004", "in transfer learning, the target dataset is smaller", ["similarity-tf-smaller-means-different"]),
    ("004", "why does transfer learning work?", ["transfer-mc-why-works"]),
    ("004", "in neural style transfer, we train the pixels", ["transfer-tf-style-transfer"]),
    ("004", "which of the following is not the step for pre-trained model approach",
     ["transfer-mc-pretrained-approach"]),
]
SOLUTION_HEADERS = ("final answer:", "quick check:", "common mistakes:", "from class:")


def normalize(line: str) -> str:
    """Lowercase, collapse spaces, drop bullets, numbering and 'Question 10' prefixes."""
    text = re.sub(r"\s+", " ", line.lower()).strip()
    return re.sub(r"^(•\s*|\d+\.\s+|question \d+)", "", text).strip()


def seed_questions(name: str) -> list[str]:
    """Question-like lines: anything with '?', 'Explain/Describe' prompts, question stems ending in ':',
    the facts and review bullets of 003, and the transfer-learning statements of 004."""
    found, in_facts = [], False
    for raw in (SEEDS / name).read_text(encoding="utf-8").splitlines():
        line = normalize(raw)
        in_facts = (in_facts or "must know facts" in line) and "review questions" not in line
        if "?" in line:
            found.append(line[: line.index("?") + 1])
        elif line.startswith(("explain ", "describe ", "evaluate how", "in transfer learning,", "in neural style")):
            found.append(line)
        elif line.endswith(":") and line not in SOLUTION_HEADERS:
            found.append(line)
        elif in_facts and re.match(r"^\s*\d+\.\s", raw):
            found.append(line)
    return found


def test_every_mapped_id_exists():
    bank = load_bank()
    missing = sorted({i for _, _, ids in COVERAGE for i in ids if i not in bank})
    assert not missing and all(ids for _, _, ids in COVERAGE)


needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason=f"syllabus seed files not found in {SEEDS}: check out "
                                                            f"the repo next to shared/ or set FTLAB_SEEDS_DIR")


@needs_seeds
@pytest.mark.parametrize("key,name", FILES.items())
def test_every_seed_question_is_listed(key, name):
    listed = [text for f, text, _ in COVERAGE if f == key]
    questions = seed_questions(name)
    assert questions, "the extraction found nothing: did the seed format change?"
    unlisted = [q for q in questions if not any(q.startswith(text) for text in listed)]
    assert not unlisted


@needs_seeds
def test_every_listed_question_is_in_its_seed_file():
    for key, text, _ in COVERAGE:
        assert any(q.startswith(text) for q in seed_questions(FILES[key])), (key, text)
