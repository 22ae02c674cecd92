"""The claim scorer: polarity, opposites, roles, guards against stuffing, echo and pastes, and measured figures."""
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from lemminflect import getAllLemmas

from ftlab.assessment.bank import BankError, Concept, Context, grade, load_bank
from ftlab.assessment.bank.items import Misconception
from ftlab.assessment.bank.loader import Bank
from ftlab.assessment.bank.scorer import (
    _BREAKS, _CANON, DOMAIN_WORDS, STOPWORDS, Verdict, canon, clauses, compile_phrasing, normalize, score,
)

SAMPLES = Path(__file__).parents[3] / "ftlab" / "assessment" / "bank" / "samples"


def rules_only(bank: Bank) -> Bank:
    """The bank without its labelled answers: these tests read the rules, the second reader has tests of its own."""
    return Bank([replace(item, labelled=()) if hasattr(item, "labelled") else item for item in bank.items])


BANK = rules_only(load_bank())
COURSE = rules_only(load_bank(Path(__file__).parents[3] / "quizzes" / "bank"))
ROLE = BANK.get("freezing-explain-role")  # 1 not updated, 2 preserves knowledge, 3 early generic, 4 late specific
SCRATCH = BANK.get("basics-explain-vs-scratch")  # 1 reuses knowledge, 2 less time, 3 less data, 4 better accuracy
RECIPE = BANK.get("recipe-explain-steps")


def verdicts(item, answer: str) -> list[str]:
    """One letter per concept: A asserted, C contradicted, - absent."""
    result = score(answer, item.concepts, prompt=item.prompt, hints=tuple(filter(None, [getattr(item, "hint", "")])),
                   shown=tuple(filter(None, [getattr(item, "model_answer", "")])))
    return "".join({Verdict.ASSERTED: "A", Verdict.CONTRADICTED: "C", Verdict.ABSENT: "-"}[d.verdict]
                   for d in result.decisions)


def test_words_fold_to_course_stems_through_lemmas_synonyms_and_typos():
    assert canon("kept") == canon("preserved") == canon("protects") == "keep"
    assert canon("knowlege") == canon("knowledge") == "featur"
    assert canon("frozen") == canon("froze") == canon("fixed") == "freez"
    assert canon("dissimilar") == canon("different") == "differ"
    assert normalize("requires_grad=False").split() == ["requires_grad", "=false"] or \
        "requires_grad" in normalize("requires_grad=False")
    assert [w.stem for c in clauses("Set requires_grad=False.") for w in c.words][-2:] == ["requires_grad", "false"]


GENERIC = {"layer", "weight", "model", "network", "data", "featur", "head", "task", "class", "train", "tun", "new",
           "pretrain", "perform"}  # a word every answer uses: alone it says nothing (scorer.COMMON)


STEM_FRAGMENTS = {"edg", "featur", "freez", "replac", "specif", "stat", "textur", "tun", "unfreez", "updat"}


def test_every_phrasing_is_plain_words_the_tool_stems():
    for item in BANK.items + COURSE.items:
        for concept in getattr(item, "concepts", []):
            for phrasing in concept.phrasings + [p for m in concept.misconceptions for p in m.phrasings]:
                stems = compile_phrasing(phrasing)
                assert stems and not (len(stems) == 1 and stems[0].stem in GENERIC), phrasing
                assert not set(phrasing.split()) & STEM_FRAGMENTS, (item.id, phrasing)  # "features", not "featur"
                if "&" in phrasing:  # "A | B & C": every alternative of every part is a phrasing of its own
                    assert all(x.strip() for part in phrasing.split("&") for x in part.split("|")), phrasing
                for part in (x.split() for side in phrasing.split("&") for x in side.split("|")):
                    for i, word in enumerate(part):  # every word counts: "train other task" was "train task"
                        without = " ".join(part[:i] + part[i + 1:])
                        assert not without or \
                            compile_phrasing(without) != compile_phrasing(" ".join(part)), (item.id, phrasing, word)
                for word in (w for w in normalize(phrasing).split() if w not in STOPWORDS | {"&", "|"}):
                    assert word in _CANON or getAllLemmas(word) or canon(word) != word or "_" in word \
                        or word[0].isdigit() or word in DOMAIN_WORDS | {"not", "no", "than", "lora", "autograd"} \
                        or word in _BREAKS, (item.id, phrasing, word)


@pytest.mark.parametrize("answer,expected", [
    # negation after the phrase, beyond a few words, and denial framings
    ("Frozen layers are not updated during training.", "A---"),
    ("Frozen layers are updated normally during training.", "C---"),
    ("It is wrong to say that frozen layers are updated.", "A---"),
    # contrast and role binding: which layers are said to be generic
    ("Early layers are not generic; they are task specific.", "--CC"),
    ("The early layers are generic, while the later layers are task specific.", "--AA"),
    ("The later layers learn generic features and the early layers are task specific.", "--CC"),
    ("Freeze the later layers and fine-tune the early ones.", "--CC"),
    ("Keep the early layers frozen because they detect edges, and tune the later ones.", "--AA"),
])
def test_polarity_contrast_and_roles(answer, expected):
    assert verdicts(ROLE, answer) == expected


@pytest.mark.parametrize("answer,expected", [
    ("Training from scratch gives better accuracy and needs less data, so fine-tuning is not really useful.",
     "--CC"),
    ("A scratch model needs tons of labelled data and GPU hours; fine-tuning is quicker.", "-AA-"),
    ("Fine-tuning needs much less data than training from scratch.", "--A-"),
    ("There is no real difference in training time or accuracy.", "-C-C"),
])
def test_claims_about_training_from_scratch_count_the_other_way_round(answer, expected):
    assert verdicts(SCRATCH, answer) == expected


@pytest.mark.parametrize("item_id,answer,points", [
    ("batchnorm-explain-frozen", "The BatchNorm layers must be in eval mode, otherwise it is not needed.", 1),
    ("batchnorm-explain-frozen", "Eval mode is not needed.", 0),
    ("overfit-explain-many-layers", "Overfitting is not the problem here.", 0),
    ("lr-explain-high", "A high learning rate doesn't destroy anything or make training unstable.", 0),
    ("basics-explain-approach", "Fine-tuning throws away the pretrained weights and trains a new network, so the "
                                "learned features never transfer. It needs more data and more time.", 0),
    ("freezing-explain-role", "updated / not updated / edges / textures / task-specific / knowledge kept", 0),
    ("freezing-explain-role", "The weights don't change, so knowlege is kept.", 2),
    ("overfit-explain-many-layers", "Too many unfrozen weights for a tiny dataset: the model memorises it, and "
                                    "val loss goes up.", 4),
    ("similarity-explain-which-layers", "Whether your images look like ImageNet or are dissimilar, and how much "
                                        "data you have.", 2),  # no hint was shown: the data half is the learner's
])
def test_the_issue_examples(item_id, answer, points):
    assert grade(BANK.get(item_id), answer).score == points


def item_of(item_id: str):
    """An item of the public bank or of the course's private one."""
    return next(i for i in BANK.items + COURSE.items if i.id == item_id)


@pytest.mark.parametrize("item_id,answer,expected,sure", [
    # a random head is no network trained from scratch, and its big gradients are not LP-FT's small ones
    ("forgetting-explain-shift", "At the start the random head pushes big gradients into the body, which bends the "
                                 "pretrained features toward the training images.", "A-", None),
    # the far side of a comparison is no denial of the learner's own: no misconception of LP-FT
    ("forgetting-explain-shift", "The random head's big gradients wreck the features, so on shifted images the model "
                                 "ends up worse then a linear probe trained on the frozen body.", "A-", None),
    # "a large rate on your small dataset" speaks of the large rate the question asks about
    ("lr-explain-high", "With a large rate, a few steps on your small dataset carry the weights far away from their "
                        "pretrained values.", "-A--", True),
    # each amount goes with the end of the network written next to it
    ("lr-card-discriminative", "Each group of layers gets its own rate, smaller for the first layers and larger for "
                               "the head.", "AA", True),
    # "not slower or bigger" is no claim that merging makes the model smaller
    ("adapters-card-merge", "After merging, the layer is an ordinary layer again with the update added into its "
                            "weight, so inference is not slower or bigger than the base model.", "AA", True),
    ("batchnorm-card-running-stats", "The running mean and var are buffers, so requires_grad=False does not cover "
                                     "them and in train mode each forward pass updates them.", "AA", True),
    # an opening that repeats the question, with every concept said in the learner's own words
    ("lr-explain-high", "A high learning rate can ruin a pretrained network during fine-tuning. The pretrained "
                        "weights already hold good features, and huge steps throw the weights far from those "
                        "values, so the features are wiped out and the loss jumps around.", "AAAA", True),
    ("recipe-card-head-first", "A random head would push big, noisy updates into the pretrained body and spoil "
                               "what it learned.", "AA", True),
    ("basics-explain-vs-scratch", "Training from scratch on a small dataset just doesn't work well.", "---A", True),
    ("similarity-explain-which-layers", "Think about the similarity between your images and the pretraining data.",
     "-A--", True),
    ("forgetting-card-wise-ft", "Averaging the weights of the start and fine-tuned models helps out-of-distribution "
                                "while in-distribution accuracy stays the same.", "AA", True),
    ("forgetting-card-lp-ft", "LP-FT: first a linear probe on the frozen body, then FT of all layers at a low rate; "
                              "it beat plain FT out of distribution.", "AA", True),
    ("freezing-card-attribute-trap", "model.layer1.requires_grad = False just makes a new attribute on the module "
                                     "and nothing happens to the weights.", "A-", True),
    # "frozen" that belongs to the body or the features says nothing of a frozen head
    ("recipe-explain-steps", "Load a pretrained model, freeze all its parameters, swap the last layer for a new one "
                             "for your classes so the new head learns to use the frozen features, then unfreeze the "
                             "top block and train on at a low rate.", "AAAAA", None),
    # a chain of steps joined by arrows is a list of steps; "lower the lr a lot" is no high rate
    ("recipe-explain-steps", "load a pretrained resnet -> set requires_grad false on all its params -> swap the last "
                             "layer for a new nn.Linear for your classes -> give the optimizer only the trainable "
                             "params and train the head -> then unfreeze the last block, lower the lr a lot, train "
                             "more", "AAAAA", True),
    # "without destroying them" guards against the danger: it does not deny it
    ("course-explain-lr", "Much smaller: the pretrained body is already good, so you only refine its features without "
                          "destroying them.", "AA", True),
    ("recipe-explain-steps", "Load the pretrained weights, freeze every parameter, swap in a new head for your "
                             "classes, give Adam only the head's parameters and train, then unfreeze the top block "
                             "at a low rate.", "AAAAA", True),
])
def test_readings_of_the_seventh_session(item_id, answer, expected, sure):
    item = item_of(item_id)
    result = score(answer, item.concepts, prompt=item.prompt)
    assert verdicts(item, answer) == expected
    assert not [d.misconception for d in result.decisions if d.misconception]
    assert sure is None or result.confident is sure


def test_lp_ft_in_the_reverse_order_is_its_misconception_and_ending_up_below_a_probe_is_not():
    item = BANK.get("forgetting-explain-shift")
    reversed_ = score("LP-FT fixes this by fine-tuning first and then doing a linear probe at the end.", item.concepts,
                      prompt=item.prompt)
    assert "LP-FT fine-tunes first and trains the head last" in {d.misconception for d in reversed_.decisions}
    honest = score("Full fine-tuning can end up below the linear probe on shifted data. LP-FT trains the head on the "
                   "frozen body first.", item.concepts, prompt=item.prompt)
    assert not [d.misconception for d in honest.decisions if d.misconception]


@pytest.mark.parametrize("item_id,answer,expected", [  # readings fixed from the blind sets, session by session
    # eighth session
    # weight decay is a penalty, not the weights: "nothing is modified ... except by weight decay" stops no weight
    ("batchnorm-card-running-stats", "Once requires_grad is False nothing inside the layer can be modified, so a "
                                     "change must come from the optimizer's weight decay.", "--"),
    # each end of the network takes the treatment written next to it: freezing the last layer is the reversed plan,
    # training the last ones after freezing most is the plan
    ("recipe-card-strategy", "Phase one: freeze the final layer and train the early layers.", "C-"),
    ("recipe-card-strategy", "First you freeze most of the layers and just train the last ones on your data.", "A-"),
    # a practice dismissed is a practice denied
    ("recipe-explain-steps", "Load the pretrained model and replace the head. Freezing layers is an outdated trick.",
     "ACA--"),
    # "the model was already trained on lots of pictures" is its pretraining, not the fine-tuning
    ("basics-explain-approach", "You don't need a huge dataset, since the model was already trained on lots of "
                                "pictures before.", "A--A"),
    # ninth session
    # "both" before a noun joins its pair: both curves rising is the misconception, a widening gap is not
    ("overfit-card-signs", "When overfitting, both the training loss and the validation loss are going up together.",
     "C"),
    ("overfit-card-signs", "A widening gap between the train and val curves = overfitting.", "A"),
    # inline numbered steps are steps, each its own part
    ("recipe-explain-steps", "1 load a pretrained model 2 freeze it with requires_grad False, which keeps it fixed "
                             "3 replace model.fc with a new layer for your classes 4 train the head 5 unfreeze the "
                             "last layers and train with a small lr", "AAAAA"),
    # a flag set on a module freezes nothing
    ("recipe-explain-steps", "Load the model. Then freeze the layers with model.layer1.requires_grad = False for each "
                             "layer.", "AC---"),
    # LP-FT's name, or a linear probe alone, is not the recipe; the recipe is
    ("forgetting-explain-shift", "LP-FT fixes this by doing only the linear probe.", "--"),
    ("forgetting-explain-shift", "LP-FT trains the head on the frozen body first, then every layer is tuned at a low "
                                 "rate.", "-A"),
    # training on the new task is no pretraining ("train other task" read as "train task")
    ("basics-explain-approach", "Early layers learn edges, so you freeze those and only train the later layers for the "
                                "new task.", "-AA-"),
    # each end of the network takes the role written next to it: generic early, specific late is no reversal
    ("similarity-explain-which-layers", "Early layers are generic, later ones task-specific, so fine-tune the later "
                                        "layers.", "--A-"),
    # LoRA as compression: the low-rank matrices replace nothing
    ("adapters-card-lora", "LoRA compresses the layer: it replaces the weight matrix W with two small low-rank "
                           "matrices A and B and trains those.", "-C"),
    # "data-efficient" needs less data, not more; fine-tuning with zero examples is a misconception
    ("basics-card-less-data", "Fine-tuning offers a more data-efficient pathway than training from scratch.", "A"),
    ("basics-card-less-data", "You can even do it with zero labeled examples from your task.", "C"),
    # tenth session
    # a small learning rate alone is no second phase: the step unfreezes later layers and trains them gently
    ("recipe-explain-steps", "Load pretrained weights, change the output layer to your classes, train with a small "
                             "learning rate.", "A-A--"),
    ("recipe-explain-steps", "Load pretrained weights and change the output layer to your classes, then unfreeze the "
                             "top block and train with a small learning rate.", "A-A-A"),
    # what a step keeps from happening is no denial that it happens: eval mode is there because train mode updates
    ("course-explain-batchnorm", "So the running mean/var from pretraining don't get overwritten by the new data's "
                                 "batch statistics.", "A--"),
    ("course-explain-batchnorm", "The running stats don't change in train mode.", "C--"),
    # both curves stuck high is underfitting; frozen layers still run forward
    ("overfit-card-signs", "If both losses stay high and flat from the start, that's also overfitting.", "C"),
    ("overfit-card-signs", "Also if both are dropping together nicely that's overfitting too.", "C"),
    ("freezing-explain-role", "Frozen layers are skipped during the forward pass, so inference gets faster.", "C---"),
    # "everything else" is the other end from the one just named; a big dataset is no call for more layers
    ("course-explain-plan", "I'd take a pretrained model, swap the last layer for one with my classes, freeze "
                            "everything else and train just that head.", "AAA-"),
    ("overfit-explain-many-layers", "The first layers had good general features like edges from the big dataset, "
                                    "and these get changed to fit our small data.", "-A--"),
])
def test_readings_of_the_blind_sets(item_id, answer, expected):
    assert verdicts(item_of(item_id), answer) == expected


def test_every_time_is_always_not_compute_time():
    item = BANK.get("basics-explain-vs-scratch")
    result = score("Even with millions of images, a pretrained model beats a scratch one every time.", item.concepts,
                   prompt=item.prompt)
    assert result.decisions[1].concept.name == "less training time or compute"
    assert result.decisions[1].verdict is Verdict.ABSENT


def test_half_of_a_one_point_card_is_sure_where_no_guard_fired():
    item = BANK.get("forgetting-card-lp-ft")  # two concepts on a one-point card: half a point each
    answer = ("LP-FT = train the head on the frozen body first, then fine-tune all layers. Kumar et al. showed it "
              "helps in distribution but makes out-of-distribution accuracy worse than plain fine-tuning.")
    result = score(answer, item.concepts, prompt=item.prompt, max_score=1.0)
    assert [d.verdict for d in result.decisions] == [Verdict.ASSERTED, Verdict.CONTRADICTED] and not result.flags
    assert result.confident  # 0.5 of 1: whatever a person decides, it is less than a point away
    assert not score(answer, item.concepts, prompt=item.prompt, max_score=2.0).confident  # a point each: doubted


def test_a_concept_people_say_in_many_ways_goes_to_a_person_when_left_out():
    item = BANK.get("basics-explain-adjust")  # its "adjusts some layers / a new head" is marked check_when_absent
    answer = ("It keeps the general features it learned on ImageNet and learns the patterns specific to your data, "
              "so its predictions on your task get more accurate.")
    assert [c.check_when_absent for c in item.concepts] == [False, True, False, False]
    result = score(answer, item.concepts, prompt=item.prompt)
    assert result.credited == 3 and not result.confident
    plain = [replace(c, check_when_absent=False) for c in item.concepts]
    assert score(answer, plain, prompt=item.prompt).confident  # only the mark made it unsure
    stated = answer.replace("and learns", "adapts its last layers and learns")
    assert score(stated, item.concepts, prompt=item.prompt).confident  # said: nothing for a person to check


def test_an_answer_whose_every_word_folds_to_the_question_restates_it():
    item = BANK.get("freezing-card-pytorch")  # "How do you freeze every parameter of a model in PyTorch?"
    result = score("You freeze all the model's parameters in PyTorch.", item.concepts, prompt=item.prompt)
    assert result.credited == 0 and "prompt-echo" in result.flags and result.confident


def test_an_echo_whose_claim_leans_on_the_question_still_goes_to_a_person():
    item = BANK.get("recipe-explain-steps")
    result = score("Fine-tuning a pretrained model in PyTorch goes step by step: you start with the pretrained model "
                   "and then you fine-tune it in PyTorch.", item.concepts, prompt=item.prompt)
    assert "prompt-echo" in result.flags and not result.confident


def test_repeating_a_hint_earns_nothing_only_once_it_was_shown():
    item = BANK.get("similarity-explain-which-layers")  # hint: "Think about your data (how much, how similar) ..."
    answer = "Whether your images look like ImageNet or are dissimilar, and how much data you have."
    assert grade(item, answer, Context(hints=tuple(item.hints[:1]))).score == 1
    assert "hint-echo" not in grade(item, answer).flags


def test_a_contradicted_concept_scores_zero_and_names_the_misconception():
    result = grade(ROLE, "Frozen layers are still updated during training, but the early layers hold edges.")
    assert result.score == 1 and "frozen weights are not updated during training" in result.missing
    assert result.diagnosis == "frozen layers are still updated during training"
    assert "Contradicted: frozen weights are not updated" in result.feedback


def test_misconceptions_are_named_and_unnamed_opposites_say_so():
    concept = Concept("early layers are generic", ["early generic"],
                      [Misconception("thinking early layers are task-specific", ["early specific"])])
    named = score("The early layers are task specific.", [concept, Concept("x", ["imagenet"])])
    assert named.decisions[0].misconception == "thinking early layers are task-specific"
    bare = score("Early layers are not generic.", [Concept("early layers are generic", ["early generic"]),
                                                    Concept("x", ["imagenet"])])
    assert bare.decisions[0].verdict is Verdict.CONTRADICTED and bare.decisions[0].misconception is None
    item = BANK.get("lr-explain-high")
    assert "Contradicted: training becomes unstable (you wrote: 'training stays stable and just gets faster'; that " \
           "is the misconception: a high learning rate makes training stable" in \
        grade(item, "A high learning rate is fine: training stays stable and just gets faster.").feedback


@pytest.mark.parametrize("answer,flag", [
    ("pretrained model, less data, faster, better accuracy, prior knowledge", "keyword-list"),
    ("less data / less time / better accuracy / transfer learning", "keyword-list"),
    ("A pretrained model already knows general visual features, so fine-tuning converges faster, needs much less "
     "data, and on small datasets reaches higher accuracy while overfitting less.", "pasted-model-answer"),
    ("reuses knowledge from pretraining; less training time or compute; less labelled data needed",
     "pasted-concept-names"),
])
def test_stuffing_echo_and_pastes_earn_nothing_and_are_flagged(answer, flag):
    result = score(answer, SCRATCH.concepts, prompt=SCRATCH.prompt, hints=(SCRATCH.hint,),
                   shown=(SCRATCH.model_answer,))  # the model answer was on screen while answering
    assert result.credited == 0 and flag in result.flags and result.confident  # sure: nothing else is claimed


def test_concept_names_count_as_copied_only_where_feedback_showed_them():
    item = item_of("course-explain-lr")
    answer = ("Use a smaller rate, because the pretrained weights are already good and big steps destroy the learned "
              "features.")
    assert score(answer, item.concepts, prompt=item.prompt).credited == 2  # a first answer: nothing was on screen
    assert "pasted-concept-names" in score(answer, item.concepts, prompt=item.prompt, shown=(item.model_answer,)).flags


def test_echoing_the_prompt_earns_nothing_and_is_flagged_when_it_would_have_scored():
    item = BANK.get("basics-explain-adjust")
    echo = grade(item, "Fine-tuning improves a pretrained model on a specific task compared with using it unchanged.")
    assert echo.score == 0 and "prompt-echo" in echo.flags and echo.confident
    idle = grade(SCRATCH, "Describe why fine-tuning is useful compared with training a model from scratch.")
    assert idle.score == 0
    assert grade(SCRATCH, "Consider the benefits of transfer learning.").score == 0  # the hint, repeated


def test_a_claim_beside_its_misconception_counts_as_the_misconception_and_a_person_weighs_both():
    """Labellers called such a concept contradicted far more often than stated, so the suggestion follows the
    misconception; the feedback quotes both parts, and a person may credit the claim where a point turns on it."""
    result = grade(ROLE, "Frozen weights are not updated. Frozen layers are updated normally.")
    assert result.score == 0 and "self-contradiction" in result.flags and not result.confident
    assert "'Frozen weights are not updated' states it" in result.feedback and \
        "'Frozen layers are updated normally'" in result.feedback and "To check:" in result.feedback
    card = BANK.get("freezing-card-meaning")  # two concepts, half a point each: the doubt is half a point
    halves = grade(card, "Frozen layers keep their weights unchanged, so the pretrained knowledge is kept. They are "
                         "also skipped in the forward pass.")
    assert "self-contradiction" in halves.flags and halves.score == 0.5 and halves.confident


def test_notes_without_glue_are_a_keyword_list_and_a_clause_with_an_adverb_still_states():
    notes = grade(BANK.get("freezing-card-meaning"), "weights fixed, no updates, requires_grad False, keep pretrained "
                                                      "knowledge")
    assert notes.score == 0 and "keyword-list" in notes.flags and notes.confident
    assert clauses("Pretrained weights already encode good features.")[0].states
    assert not clauses("pretrained weights large steps big updates forget destroy")[0].states


def test_the_and_of_a_pair_joins_it_and_a_later_and_still_starts_a_clause():
    stems = [[w.stem for w in c.words] for c in clauses("The gap between training and validation loss grows and "
                                                         "the model overfits.")]
    assert len(stems) == 2 and "valid" in stems[0] and "overfit" in stems[1]
    assert len(clauses("Pick a rate between 1e-4 and 1e-3 and train the head first.")) == 2


def test_negation_without_apostrophe_and_hypotheticals_that_never_deny():
    assert grade(ROLE, "Frozen layers dont get updated.").evidence[0][:2] == \
        ("frozen weights are not updated during training", "asserted")
    lr = BANK.get("lr-explain-high")
    said = {name: verdict for name, verdict, _ in grade(lr, "Huge steps would not wipe them out.").evidence}
    assert "contradicted" not in said.values()  # what could happen is no denial
    assert {name: v for name, v, _ in grade(lr, "Huge steps do not wipe them out.").evidence}.get(
        "the learned features get destroyed (forgetting)") == "contradicted"


def test_a_phrasing_in_two_parts_needs_both_said_in_one_sentence():
    signs = BANK.get("overfit-card-signs")  # "training loss keeps falling while validation loss rises"
    assert verdicts(signs, "Validation loss going up.") == "-"  # one curve alone is half the sign
    assert verdicts(signs, "Training loss keeps falling while validation loss rises.") == "A"
    assert verdicts(signs, "When val loss starts to increase even though training loss is still decreasing.") == "A"
    assert verdicts(signs, "Training loss falls. Validation loss rises.") == "-"  # two sentences: two claims


def test_a_condition_and_the_clause_it_governs_are_one_claim_that_never_denies():
    rule = BANK.get("similarity-card-rule")  # 1 small similar: freeze most, 2 more or different data: unfreeze more
    assert verdicts(rule, "If your dataset is tiny and looks like ImageNet, just train the head and leave the rest "
                          "frozen.")[0] == "A"
    assert verdicts(rule, "If you have plenty of very different images, you can unfreeze deeper layers.")[1] == "A"
    assert verdicts(rule, "If your dataset is small you should fine-tune fewer layers.") == "--"  # no similarity


def test_a_clause_whose_subject_is_it_is_read_with_the_clause_before_it():
    plan = COURSE.get("course-explain-plan")  # 4: little data, so training from scratch would overfit
    assert verdicts(plan, "From scratch the net has to learn every feature itself, so it will just overfit.")[3] == "A"
    assert verdicts(plan, "From scratch the net has to learn every feature itself. It will just overfit.")[3] == "A"
    assert verdicts(plan, "The net has to learn every feature itself. It will just overfit.")[3] == "-"  # no scratch


def test_assigning_requires_grad_on_a_module_is_the_attribute_trap_not_a_freeze():
    pytorch = BANK.get("freezing-card-pytorch")  # 1 requires_grad False, 2 on every parameter
    assert verdicts(pytorch, "You just write model.requires_grad = False.")[0] == "C"
    assert verdicts(pytorch, "for p in model.parameters(): p.requires_grad = False")[0] == "A"
    assert verdicts(RECIPE, "Load a pretrained resnet and freeze it with model.requires_grad = False.")[1] == "C"
    assert verdicts(RECIPE, "Load a pretrained resnet and freeze it: for p in model.parameters(): "
                            "p.requires_grad = False.")[1] == "A"  # each tensor's own flag: a real freeze


def test_a_two_part_rule_reads_small_data_and_freezing_from_two_clauses_of_one_sentence():
    rule = BANK.get("similarity-card-rule")
    assert verdicts(rule, "With a small dataset you keep almost everything frozen and train just the head.")[0] == "A"
    assert verdicts(rule, "With a small dataset you must fine-tune more layers.")[0] != "A"


def test_a_note_among_sentences_that_credit_is_trusted_but_notes_outnumbering_sentences_are_not():
    frozen = COURSE.get("course-card-frozen-tensor")
    among = score("The optimizer never changes it. requires_grad False", frozen.concepts, max_score=1)
    notes = score("requires_grad False. no gradient. The optimizer never changes it.", frozen.concepts, max_score=1)
    assert among.flags == notes.flags == ("fragment",) and among.credited == notes.credited == 2
    assert among.confident and not notes.confident


def test_a_negation_in_a_note_ends_at_its_arrow():
    many = BANK.get("overfit-explain-many-layers")  # 2: the model overfits / memorises the training set
    assert verdicts(many, "- small dataset can't constrain them -> model memorises training images")[1] == "A"
    assert verdicts(many, "- with a big dataset the model does not memorise the training images")[1] != "A"


def test_a_clause_stating_a_misconception_earns_no_other_concept():
    pytorch = BANK.get("freezing-card-pytorch")  # 1 requires_grad False (not eval mode), 2 on every parameter
    assert verdicts(pytorch, "Eval mode freezes all the parameters so they won't be updated.") == "C-"
    assert verdicts(pytorch, "Set requires_grad to False on all the parameters.") == "AA"


def test_a_danger_named_by_what_guards_against_it_is_neither_denied_nor_a_misconception():
    lr = COURSE.get("course-explain-lr")  # 2: large steps destroy the learned features
    assert verdicts(lr, "Smaller than from scratch, so you don't wreck the pretrained features.")[1] == "A"
    assert verdicts(lr, "A high learning rate won't wreck the pretrained features.")[1] == "C"
    small = BANK.get("lr-card-small")  # 2: the features are kept, not destroyed (misconception: small LR forgets)
    assert verdicts(small, "Tiny updates, so you don't trash the pretrained features.") == "AA"


def test_a_note_whose_arrow_follows_a_held_clause_is_no_keyword_list():
    note = ("Scratch: random weights, must learn all features from your data -> needs lots of data, compute and time, "
            "overfits small sets. Fine-tuning: reuses features already learned on a big dataset -> faster, cheaper, "
            "much less data needed, and usually better accuracy, especially on small datasets.")
    assert verdicts(SCRATCH, note) == "AAAA"
    keywords = score("small similar -> head only; small different -> careful, few layers; large similar -> more "
                     "layers; large different -> whole network", BANK.get("similarity-card-rule").concepts)
    assert keywords.credited == 0 and keywords.confident and {"keyword-list", "no-statement"} & set(keywords.flags)


def test_comparisons_in_phrasings_read_as_in_answers_and_quantities_in_any_words():
    lp_ft = BANK.get("forgetting-card-lp-ft")  # 1 head first then all layers, 2 beat plain fine-tuning, above all OOD
    assert verdicts(lp_ft, "Kumar et al. showed it does better than both plain fine-tuning and linear probing.")[1] \
        == "A"  # "than" negates what follows in a phrasing as in an answer: no invented contradiction
    assert [w.stem for c in clauses("You need a lot of data.") for w in c.words] == ["need", "big", "data"]
    assert "replace model fc with a new linear" in normalize("model.fc = nn.Linear(512, 5)")
    assert normalize("cuz u dont need ur own data") == "because you do not need your own data"  # chat spellings


def test_merging_sold_as_compression_and_lp_ft_without_fine_tuning_are_misconceptions():
    merge = BANK.get("adapters-card-merge")
    result = score("It costs nothing because merging prunes the network, so the merged model is smaller and faster "
                   "than the base model.", merge.concepts)
    assert [d.verdict for d in result.decisions][1] is Verdict.CONTRADICTED
    assert score("Once merged, the layer is as fast as the original and gives the same outputs.",
                 merge.concepts).decisions[1].verdict is Verdict.ASSERTED
    shift = BANK.get("forgetting-explain-shift")
    assert verdicts(shift, "LP-FT trains only the linear head for the entire run and never unfreezes the body.")[1] \
        == "C"


def test_a_concession_is_its_own_clause_and_keeps_its_marker():
    bn = COURSE.get("course-explain-batchnorm")
    result = score("In train mode BN still updates its running mean and variance, even with requires_grad=False.",
                   bn.concepts, prompt=bn.prompt)
    assert [d.verdict for d in result.decisions][:2] == [Verdict.ASSERTED, Verdict.ASSERTED]  # freezing stops nothing
    assert compile_phrasing("linear probe then") == compile_phrasing("linear probe")  # a break word is never required


def test_the_rest_names_no_position():
    plan = COURSE.get("course-explain-plan")
    result = score("Use an ImageNet-pretrained model, replace the head with one for my classes, freeze the rest and "
                   "train only the head.", plan.concepts, prompt=plan.prompt)
    assert "self-contradiction" not in result.flags  # "freeze the rest" is not "freeze the last layers"
    assert [w.stem for c in clauses("Freeze the early layers and train the rest.") for w in c.words][-2:] == \
        ["train", "late"]  # after a position is named, the rest is the other one
    steps = score("Replace the last layer with one for my classes, freeze the body and train just the head.",
                  plan.concepts, prompt=plan.prompt)
    assert "self-contradiction" not in steps.flags  # a step naming its own object inherits no position


def test_promotional_filler_goes_to_a_person_and_filler_crediting_nothing_stays_a_sure_zero():
    item = BANK.get("basics-card-vs-scratch")
    padded = score("Using pretrained models is the smart, modern approach that leverages the power of prior knowledge "
                   "and helps deliver great outcomes in a scalable and efficient way.", item.concepts)
    assert "padding" in padded.flags and not padded.confident
    empty = score("It is a modern, holistic way of working with numerous benefits.", item.concepts)
    assert empty.credited == 0 and empty.confident
    honest = score("The pretrained weights already encode useful features, so you need far less data and time.",
                   item.concepts)
    assert "padding" not in honest.flags and honest.confident and honest.credited == 2


def test_a_concept_left_out_beside_a_part_the_scorer_did_not_read_goes_to_a_person():
    said = "Frozen weights are not updated, so the knowledge is kept. Early layers hold generic edges and textures."
    assert grade(ROLE, said).confident and grade(ROLE, said).score == 3
    unread = grade(ROLE, said + " Everything past the middle of the network gets rebuilt around the oddities of your "
                                "own photos.")
    assert unread.score == 3 and not unread.confident


def test_honest_short_and_code_style_answers_earn_full_credit():
    short = grade(RECIPE, "load pretrained model, freeze layers, new head, train head, unfreeze top, low LR")
    assert short.correct and short.confident and not short.flags
    code = grade(ROLE, "Set requires_grad=False so the weights are fixed and knowledge is kept; the first layers "
                       "are generic, the later ones task-specific and get fine-tuned.")
    assert code.correct, code.feedback


def test_a_long_answer_the_scorer_barely_credits_is_left_to_a_person():
    result = grade(ROLE, "In my experience the network's convolutional stack behaves like a camera lens that "
                         "you would not want to regrind every time you photograph a new subject in a new studio.")
    assert result.score == 0 and not result.confident


def test_cards_keep_self_ratings_and_score_typed_recall_answers():
    card = BANK.get("freezing-card-meaning")
    assert [grade(card, r).score for r in ("again", "hard", "good", "easy", 2)] == [0, 0.5, 1, 1, 0.5]
    typed = grade(card, "Their weights stay fixed so the optimizer never updates them, and what they learned is kept.")
    assert typed.correct and typed.score == 1 and typed.max_score == 1
    half = grade(card, "The weights are not updated.")
    assert half.score == 0.5 and not half.correct
    wrong = grade(card, "Frozen layers are removed from the network.")
    assert wrong.score == 0 and wrong.diagnosis
    assert "or your answer in words" in grade(card, "").feedback


def test_bank_references_state_every_concept():
    for item in BANK.items:
        concepts = getattr(item, "concepts", [])
        if concepts:
            reference = getattr(item, "model_answer", "") or item.answer
            result = score(reference, concepts, prompt=item.prompt)
            assert result.credited == len(concepts) and not result.flags, (item.id, result.decisions)


@pytest.mark.parametrize("item", BANK.select(kind="explain"), ids=lambda item: item.id)
def test_every_explain_solution_earns_full_credit_while_the_model_answer_pasted_earns_none(item):
    solution, pasted = grade(item, item.solution), grade(item, item.model_answer, Context(shown=(item.model_answer,)))
    assert solution.correct and solution.confident and not solution.flags, solution.feedback
    assert pasted.score == 0 and "pasted-model-answer" in pasted.flags
    recalled = grade(item, item.model_answer)  # recalled in revision, not on screen: what revision is for
    assert recalled.correct and "pasted-model-answer" not in recalled.flags


def measure(name: str) -> tuple[float, float, dict[str, float]]:
    """Honest precision and recall over one sample file, and the mean share of credit per dishonest kind."""
    tp = fp = fn = 0
    dishonest: dict[str, list[float]] = {}
    for sample in tomllib.loads((SAMPLES / name).read_text(encoding="utf-8"))["samples"]:
        item = BANK.get(sample["item"])
        shown = (getattr(item, "model_answer", "") or item.answer,) if sample.get("kind") in ("pasted-model",
                                                                                           "pasted-names") else ()
        # names come from feedback, shown with the model answer
        hints = tuple(item.hints) if sample.get("kind") == "hint-echo" else ()  # a hint repeated after it was shown
        result = grade(item, sample["answer"], Context(shown=shown, hints=hints))
        hits = [c.name not in result.missing for c in item.concepts]
        covers = set(sample["covers"])
        if sample.get("kind", "partial") in ("paraphrase", "partial"):
            tp += sum(hits[i - 1] for i in covers)
            fn += sum(not hits[i - 1] for i in covers)
            fp += sum(hit for i, hit in enumerate(hits, 1) if i not in covers)
        else:
            dishonest.setdefault(sample["kind"], []).append(result.score / result.max_score)
    return tp / (tp + fp), tp / (tp + fn), {k: sum(v) / len(v) for k, v in dishonest.items()}


@pytest.mark.parametrize("name,min_precision,min_recall", [
    ("explain.toml", 0.95, 0.90),  # tuned on
    ("holdout.toml", 0.95, 0.85),  # written before this scorer; read while fixing mechanisms
    ("adversarial.toml", 0.95, 0.90),  # written before tuning the phrasings, by kind
])
def test_measured_precision_recall_and_dishonest_credit(name, min_precision, min_recall):
    precision, recall, dishonest = measure(name)
    print(f"\n{name}: precision {precision:.3f}, recall {recall:.3f}, dishonest credit {dishonest}")
    assert precision >= min_precision and recall >= min_recall, (precision, recall)
    for kind in ("keyword-list", "pasted-model", "pasted-names", "prompt-echo"):
        assert dishonest.get(kind, 0) == 0, kind
    assert all(share <= 0.15 for share in dishonest.values()), dishonest


def test_samples_cover_every_explain_item():
    labelled = {s["item"] for f in SAMPLES.glob("*.toml") for s in tomllib.loads(f.read_text())["samples"]}
    assert {item.id for item in BANK.select(kind="explain")} <= labelled


CARD_TOML = '''format = 1
topic = "t"

[[items]]
id = "c-one"
kind = "card"
difficulty = "easy"
prompt = "What does freezing do?"
answer = "Weights stay fixed."
[[items.concepts]]
name = "weights stay fixed"
phrasings = ["weight freez"]
[[items.concepts.misconceptions]]
name = "frozen weights still change"
phrasings = ["freez updat"]
'''


@pytest.mark.parametrize("old,new,field", [
    ('phrasings = ["freez updat"]', 'phrasings = []', "concepts[0].misconceptions[0].phrasings"),
    ('name = "frozen weights still change"', 'nme = "x"', "concepts[0].misconceptions[0].name"),
    ('phrasings = ["weight freez"]', 'phrasings = ["weight freez"]\nweight = 2', "concepts[0].weight"),
    ('[[items.concepts.misconceptions]]', '[[items.concepts]]\nname = "b"\nphrasings = ["b"]\n'
                                          '[[items.concepts]]\nname = "c"\nphrasings = ["c"]\n'
                                          '[[items.concepts.misconceptions]]', "concepts"),
])
def test_card_concepts_and_misconceptions_are_validated(tmp_path, old, new, field):
    (tmp_path / "cards.toml").write_text(CARD_TOML.replace(old, new, 1))
    with pytest.raises(BankError) as info:
        load_bank(tmp_path)
    assert info.value.field == field and info.value.item_id == "c-one"


def test_card_concepts_load(tmp_path):
    (tmp_path / "cards.toml").write_text(CARD_TOML)
    (card,) = load_bank(tmp_path).items
    assert card.concepts[0].misconceptions == [Misconception("frozen weights still change", ["freez updat"])]


def test_a_denial_of_one_gerund_covers_the_gerund_joined_to_it():
    small = BANK.get("lr-card-small")  # 2: the features are kept, not destroyed (misconception: small LR forgets)
    kept = score("It keeps the updates small, so the pretrained weights are nudged instead of being overwritten and "
                 "losing the features they learned.", small.concepts)
    assert kept.flags == () and kept.credited == 2
    lost = score("A small learning rate overwrites the weights and it loses the features they learned.",
                 small.concepts)
    assert lost.decisions[1].verdict is not Verdict.ASSERTED


def test_w_names_the_weight_and_continuing_to_update_it_is_no_frozen_weight():
    lora = BANK.get("adapters-explain-lora")  # 1: the pretrained weight stays frozen, only B A trains
    assert verdicts(lora, "Only A and B learn, so W stays exactly the pretrained one.")[0] == "A"
    card = BANK.get("adapters-card-lora")  # 1: the pretrained weight stays frozen (misconception: LoRA updates it)
    assert verdicts(card, "It also keeps updating W itself, with a smaller learning rate.")[0] == "C"


def test_logged_curve_names_by_heart_and_a_fresh_head_read_as_words():
    many = BANK.get("overfit-explain-many-layers")  # 3: the model memorises, 4: train/validation gap
    assert verdicts(many, "train_loss keeps decreasing while val_loss turns upward.")[3] == "A"
    assert verdicts(many, "The network learns each training photo by heart.")[2] == "A"
    adjust = BANK.get("basics-explain-adjust")  # 2: adjusts some layers / a new head
    assert verdicts(adjust, "You put a fresh output layer on top and train it on your data.")[1] == "A"


def test_a_parenthesis_inside_a_clause_keeps_its_commas():
    said = "Early blocks (conv1, layer1) hold edge detectors that transfer to nearly anything."
    assert verdicts(ROLE, said)[2] == "A"


def test_a_sentence_about_scratch_stays_about_scratch_until_it_turns():
    said = ("Training from scratch makes the network learn every feature from the target data, which demands a large "
            "labelled dataset and a lot of compute.")
    assert verdicts(SCRATCH, said)[1:3] == "AA"  # scratch needs more: fine-tuning needs less
    turned = ("Training from scratch makes the network learn every feature from the target data, whereas the network "
              "demands a large labelled dataset and a lot of compute.")
    assert "C" in verdicts(SCRATCH, turned)[1:3]
    chained = ("Training from scratch starts from random weights, so the network must learn every feature, from edges "
               "upwards; this demands a large labelled dataset and a lot of compute.")
    assert "C" not in verdicts(SCRATCH, chained)


def test_a_bare_train_trains_what_the_step_before_it_made():
    steps = "Load a pretrained resnet, freeze everything, swap model.fc for a new Linear with your classes, and train."
    assert verdicts(RECIPE, steps)[3] == "A"  # 4: train the new head first, with the body frozen
    assert verdicts(RECIPE, "Load a pretrained resnet and freeze everything. Train.")[3] != "A"
    assert verdicts(RECIPE, "Load a pretrained model, freeze it, replace the last layer, train.")[3] == "A"  # "train"
    # inherits "last" from the step before: a position it did not write names no object of its own


def test_named_architectures_are_networks_and_too_few_is_a_shortfall():
    plan = COURSE.get("course-explain-plan")  # 1 pretrained network, 2 new head, 3 freeze early, 4 scratch overfits
    said = "I'd grab a pretrained resnet, swap the last layer for my classes and only train that."
    assert verdicts(plan, said)[:3] == "AAA"
    assert verdicts(plan, "It beats scratch because the pretrained features are already good and 50 photos is too "
                          "few.") == "---A"  # not "pretrained on a small dataset"


def test_a_concession_is_read_with_the_claim_it_concedes_to():
    frozen = BANK.get("batchnorm-explain-frozen")  # 1 statistics update in train mode, 2 requires_grad only fixes
    said = "In train mode BN keeps updating its running mean and variance from the new batches, even with " \
           "requires_grad=False."  # weight and bias
    assert verdicts(frozen, said)[:2] == "AA"
    assert [w.negated for c in clauses("BN keeps updating its statistics from the new batches.") for w in c.words
            if w.stem == "new"] == [False]  # continuing to update "from" a source is no "keeps X from happening"


def test_a_participle_heading_stays_with_what_it_introduces():
    transfer = COURSE.get("course-card-transfer")  # 1 weights and features carry over, 2 a new head is learned
    assert verdicts(transfer, "Carried over: the pretrained weights. Learned anew: the new head for your classes.") \
        == "AA"
    assert verdicts(transfer, "Kept: the pretrained feature extractor. New: the replaced classification head.") == "AA"


def test_a_model_trained_on_other_images_is_a_pretrained_one():
    assert normalize("a model trained on loads of images") == "a model pretrained on many images"
    approach = BANK.get("basics-explain-approach")  # 2: continues training it on the new task
    said = "A model trained on loads of images already knows edges, so it is useful for a new vision task."
    assert verdicts(approach, said)[1] == "-"


def test_a_verdict_on_the_clause_before_it_can_state_a_misconception():
    signs = BANK.get("overfit-card-signs")  # misconceptions: both curves falling, a rising training loss
    for wrong in ("If both training and validation loss go down together, that's also overfitting.",
                  "Also if the training loss goes up over the epochs, that's a sign of overfitting."):
        assert verdicts(signs, wrong) == "C", wrong
    right = score("Training loss going down while validation loss goes up means overfitting. If both go down "
                  "together, that's also overfitting.", signs.concepts)
    assert right.credited == 0 and "self-contradiction" in right.flags and not right.confident
    assert verdicts(signs, "If both losses go down together, that's not overfitting.") != "C"


def test_a_parenthesis_is_outside_the_denial_and_two_distant_denials_both_deny():
    assert [w.stem for w in clauses("early layers barely move (tiny lr)")[0].words if w.negated] == ["updat"]
    said = "they don't get gradients (grad is None) and the optimizer doesn't change them"
    assert [w.negated for c in clauses(said) for w in c.words if w.stem == "updat"] == [True]
    assert [w.negated for c in clauses("it does not stop the statistics from updating") for w in c.words
            if w.stem == "updat"] == [False]  # two denials close together undo each other


def test_scratch_named_in_passing_and_features_that_are_gone():
    high = BANK.get("lr-explain-high")  # 2 large steps move weights far, 3 the learned features get destroyed
    said = ("Using lr=0.1 (a typical from-scratch value) on the unfrozen layers makes huge jumps, and the features "
            "that made transfer useful are gone.")
    assert verdicts(high, said)[1:3] == "AA"
