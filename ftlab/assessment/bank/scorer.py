"""Decide per rubric concept whether a free-text answer asserts it, contradicts it or leaves it out.

Answers are cut into clauses; each word is reduced to a course-level stem (synonyms, lemmas from lemminflect,
typos via rapidfuzz) carrying the polarity its clause gives it. A phrasing is asserted when its words occur in one
clause with the phrasing's polarity, contradicted when an odd number of them occur negated or as their opposite
(early/late, generic/specific, ...); the claim is turned round when its clause is about training from scratch or
about the opposite of the question's premise, but a misconception counts only where it is stated as it stands, and a
hypothetical clause ("would", "if") asserts without ever denying. Keyword lists, prompt and hint echoes and pasted
model answers or concept names earn nothing and are flagged; a claim beside a misconception, or read from keyword
notes that outnumber the real sentences, is a suggestion a person confirms, and so is anything credited in
promotional filler; a clause stating one concept's misconception credits no other concept. A condition is read with
the clause it governs, a clause whose subject is "it" or "they" with the clause before it, and a two-part phrasing
("A & B") with two clauses of one sentence; such joined readings only ever assert.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from functools import lru_cache
from itertools import takewhile

from lemminflect import getAllLemmas
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from ftlab.assessment.bank.items import Concept

_CONTRACTIONS = (("can't", "can not"), ("won't", "will not"), ("n't", " not"), ("'re", " are"), ("'s", ""),
                 ("'ve", " have"), ("'ll", " will"), ("'d", " would"))
NEGATIONS = {"not", "no", "never", "without", "nor", "neither", "cannot", "hardly", "nothing", "none",
             "rather", "lack", "lacks", "stop", "stops", "stopped", "stopping", "prevent", "prevents", "prevented",
             "preventing", "avoid", "avoids", "avoiding", "barely", "nobody"}
# A clause with one of these says what could happen: it may assert a concept, but it never denies one.
HYPOTHETICAL = {"would", "could", "might", "if", "unless", "otherwise"}
# ... unless the condition carries its own verdict: "if both curves drop together, that's overfitting" states a rule.
_RULE = re.compile(r"^(?:also |and |but )?if\b.*\b(?:that|this|it|then)(?: is| means| shows| indicates)? (?:\w+ ){0,3}"
                   r"overfit\w*\b(?: too| as well| also)?$")
# Predicates that deny the clause before them: "overfitting is not the problem", "eval mode is not needed".
DENIED_BY = {"problem", "issue", "need", "necessary", "true", "case", "important", "matter", "concern", "relevant",
             "happen", "risk", "helpful", "useful", "worry", "danger", "correct", "right", "fact", "either"}
_FILLERS = {"here", "now", "actually", "all", "anymore", "big", "much", "real", "main", "true"}
# Framings that deny the claim that follows them: "it is wrong to say that ...".
_DENIAL = re.compile(r"\b(?:it is |it was )?(?:wrong|false|incorrect|untrue|a myth|a misconception|a mistake|"
                     r"not true|a common mistake)\s+(?:to (?:say|think|believe|claim|assume)|that)\b")
_INTENSIFIER = re.compile(r"\b(?:much|far|way|a lot|lots|significantly|considerably|even|substantially)\s+"
                          r"(?=(?:less|fewer|more|better|faster|smaller|larger|bigger|higher|lower|quicker|cheaper|"
                          r"slower|worse|greater)\b)")
# Depth words before a layer noun mean position in the network, not size or speed.
_DEPTH = re.compile(r"\b(?:(lower|low|bottom|shallow|shallower|low[ -]level|first|initial|earlier|early)|"
                    r"(higher|high|upper|top|deeper|high[ -]level|last|final|later|late))[ -]"
                    r"((?:few |\d+ |two |three )?"
                    r"(?:layers?|blocks?|stages?|convolutions?|filters?|ones|levels?|features?|conv))\b")
PAREN_MARKS = ("_aside_", "_end_")  # where a parenthesis opens and closes: see `normalize` and `_clause`
STOPWORDS = {"_then_", "_either_", *PAREN_MARKS,  # an arrow in notes, a guarded danger, a parenthesis
    "a", "an", "the", "of", "to", "in", "on", "for", "is", "are", "be", "been", "being", "was", "were", "it", "its",
    "this", "that", "these", "those", "with", "as", "by", "at", "from", "we", "you", "your", "they", "them", "their",
    "our", "do", "does", "did", "can", "could", "will", "would", "should", "what", "then", "very", "also",
    "some", "any", "into", "has", "have", "had", "there", "when", "most", "such", "like", "i", "me",
    "my", "us", "one", "ones", "if", "about", "way", "get", "gets", "got", "really", "usually", "often",
    "still", "even", "may", "might", "must", "making", "during", "normally", "around", "approximately",
    "make", "makes", "help", "helps", "each", "own", "other", "thing", "things", "something", "anything",
    "typically", "normally", "generally", "simply", "well", "too", "quite", "lot", "lots", "etc", "e.g", "eg",
    "first", "firstly", "finally", "last", "lastly", "later", "earlier", "initially", "after", "before",
}
# Words with the same meaning in this course, mapped to one canonical stem (after lemmatisation).
SYNONYMS = {
    "pretrained": "pretrain", "pretraining": "pretrain", "pretrain": "pretrain", "already": "pretrain",
    "existing": "pretrain", "imagenet": "imagenet",
    "fix": "repair", "fixes": "repair", "fixing": "repair", "fixed": "freez",
    "lock": "freez", "locked": "freez", "frozen": "freez", "froze": "freez",
    "freeze": "freez", "freezing": "freez", "unchanged": "freez", "untouched": "freez", "static": "freez",
    "constant": "freez", "hold": "freez", "intact": "freez",
    "unfreeze": "unfreez", "unfreezing": "unfreez", "unfrozen": "unfreez", "trainable": "unfreez",
    "unlock": "unfreez", "unlocked": "unfreez", "unlocking": "unfreez", "special": "specif",
    "construct": "build", "instantiate": "build", "create": "build", "recalibrate": "updat", "despite": "despite",
    "identical": "same", "identically": "same", "giant": "big", "nuke": "ruin", "nuked": "ruin", "nukes": "ruin",
    "tune": "tun", "tuning": "tun", "finetune": "tun", "finetuning": "tun", "finetuned": "tun", "tweak": "tun",
    "adapt": "adapt", "adjust": "adapt", "refine": "adapt", "specialize": "adapt", "specialise": "adapt",
    "retrain": "train", "training": "train", "learn": "learn", "learning": "learn", "learnt": "learn",
    "train": "train", "trained": "train", "fit": "train", "further": "further", "more": "big",
    "small": "small", "smaller": "small", "few": "small", "fewer": "small", "limited": "small",
    "tiny": "small", "less": "small", "scarce": "small", "handful": "small", "low": "low", "lower": "low",
    "large": "big", "big": "big", "huge": "big", "bigger": "big", "larger": "big", "massive": "big", "more": "big",
    "many": "big", "much": "big", "tons": "big", "plenty": "big", "thousands": "big", "millions": "big",
    "vast": "big", "enormous": "big", "greater": "big", "high": "high", "higher": "high", "bunch": "big",
    "fast": "fast", "faster": "fast", "shorter": "fast", "short": "fast", "quick": "fast", "quicker": "fast",
    "quickly": "fast", "speed": "fast",
    "sooner": "fast", "slow": "slow", "slower": "slow", "slowly": "slow", "longer": "slow",
    "time": "time", "compute": "time", "resources": "time", "epochs": "time", "epoch": "time",
    "gpu": "time", "hours": "time", "cost": "time", "computation": "time", "computational": "time",
    "layer": "layer", "layers": "layer", "block": "layer", "blocks": "layer", "stage": "layer", "stages": "layer",
    "filter": "layer", "filters": "layer", "part": "layer", "parts": "layer", "convolution": "layer",
    "early": "early", "shallow": "early", "bottom": "early", "late": "late", "deeper": "late", "deep": "late",
    "top": "late", "upper": "late",
    "generic": "generic", "general": "generic", "universal": "generic", "basic": "generic", "basics": "generic",
    "simple": "generic", "broad": "generic", "common": "generic", "transferable": "generic", "reusable": "generic",
    "specific": "specif", "specialized": "specif", "specialised": "specif", "particular": "specif",
    "details": "specif", "detail": "specif", "detailed": "specif", "complex": "specif", "abstract": "specif",
    "feature": "featur", "features": "featur", "representation": "featur", "representations": "featur",
    "pattern": "featur", "patterns": "featur", "knowledge": "featur", "know": "featur", "knows": "featur",
    "edge": "edg", "edges": "edg", "texture": "textur", "textures": "textur", "corner": "edg", "corners": "edg",
    "lines": "edg", "curves": "edg", "colour": "edg", "color": "edg", "colors": "edg", "colours": "edg",
    "shapes": "edg", "shape": "edg", "blobs": "edg",
    "head": "head", "classifier": "head", "fc": "head", "output": "head",
    "replace": "replac", "swap": "replac", "replacing": "replac", "replaced": "replac", "substitute": "replac",
    "overfit": "overfit", "overfitting": "overfit", "overfits": "overfit", "overfitted": "overfit",
    "memorize": "overfit", "memorise": "overfit", "memorizing": "overfit", "memorising": "overfit",
    "gradient": "grad", "gradients": "grad", "grad": "grad",
    "update": "updat", "modify": "updat", "change": "updat", "alter": "updat", "move": "updat", "shift": "updat",
    "destroy": "ruin", "ruin": "ruin", "wipe": "ruin", "damage": "ruin", "forget": "ruin", "overwrite": "ruin",
    "wreck": "ruin", "gone": "ruin", "erase": "ruin", "lose": "ruin", "lost": "ruin", "discard": "ruin",
    "throw": "ruin",
    "corrupt": "ruin", "break": "ruin", "harm": "ruin", "distort": "ruin", "scramble": "ruin", "smash": "ruin",
    "trash": "ruin", "mess": "ruin", "spoil": "ruin", "clobber": "ruin", "undo": "ruin", "override": "ruin",
    "touch": "updat", "gamma": "weight", "beta": "bias", "w": "weight", "fresh": "new",
    **dict.fromkeys(("net", "cnn", "convnet", "resnet", "resnet18", "resnet34", "resnet50", "resnet101", "vgg", "vgg16",
                     "alexnet", "vit", "efficientnet", "mobilenet", "densenet"), "network"),  # architectures named
    "keep": "keep", "preserve": "keep", "retain": "keep", "protect": "keep", "save": "keep", "conserve": "keep",
    "maintain": "keep", "survive": "keep", "stay": "keep", "remain": "keep", "reuse": "keep", "carry": "keep",
    "leverage": "keep", "transfer": "keep", "exploit": "keep",
    "dataset": "data", "datasets": "data", "data": "data", "image": "data", "images": "data", "example": "data",
    "examples": "data", "sample": "data", "samples": "data", "picture": "data", "pictures": "data",
    "photo": "data", "photos": "data", "pics": "data", "imgs": "data", "annotated": "data", "label": "data",
    "labels": "data", "labelled": "data", "labeled": "data",
    "similar": "similar", "related": "similar", "alike": "similar", "close": "similar", "resemble": "similar",
    "different": "differ", "difference": "differ", "differences": "differ", "dissimilar": "differ",
    "unrelated": "differ", "differ": "differ", "distinct": "differ",
    "unlike": "differ",
    "accuracy": "accuracy", "acc": "accuracy", "performance": "accuracy", "results": "accuracy", "better": "perform",
    "improve": "perform", "accurate": "perform", "generalize": "perform", "generalise": "perform",
    "generalization": "perform", "generalisation": "perform", "good": "perform",
    "worse": "worse", "poorer": "worse", "poor": "worse", "degrade": "worse", "hurt": "worse",
    "deteriorate": "worse", "worsen": "worse", "plummet": "drop", "tank": "drop",
    "rise": "rise", "rising": "rise", "increase": "rise", "grow": "rise", "climb": "rise", "widen": "rise",
    "go": "", "fall": "drop", "drop": "drop", "decrease": "drop", "down": "drop", "stall": "drop",
    "plateau": "drop", "flatten": "drop", "shrink": "drop", "decline": "drop", "accurately": "perform",
    "validation": "valid", "val": "valid", "test": "valid", "held": "valid", "unseen": "valid",
    "stable": "stable", "unstable": "unstable", "diverge": "unstable", "oscillate": "unstable",
    "explode": "unstable", "instability": "unstable", "erratic": "unstable", "chaotic": "unstable",
    "scratch": "scratch", "random": "scratch", "randomly": "scratch", "category": "class", "categories": "class",
    "statistics": "stat", "stats": "stat", "statistic": "stat", "running_mean": "stat", "running_var": "stat",
    "estimate": "stat", "estimates": "stat",
    "variance": "stat", "requires_grad_": "requires_grad",
    "evaluation": "eval", "inference": "eval",
    "lr": "rate", "rate": "rate", "step": "step", "steps": "step", "nudge": "step",
    "weight": "weight", "weights": "weight", "parameter": "weight", "parameters": "weight", "param": "weight",
    "params": "weight", "automatic": "auto", "automated": "auto", "automatically": "auto", "automate": "auto",
    "automation": "auto", "automl": "auto", "auto": "auto", "delete": "remove", "deleted": "remove",
    "remove": "remove", "removed": "remove", "prune": "remove", "all": "all", "whole": "all", "entire": "all",
    "every": "all", "underfit": "underfit", "underfitting": "underfit", "average": "stat", "averages": "stat",
    "cheap": "cheap", "cheaper": "cheap", "cheaply": "cheap", "efficient": "cheap", "need": "need",
    "needs": "need", "needed": "need", "require": "need", "requires": "need", "required": "need",
    "affine": "affine", "just": "only", "solely": "only", "alone": "only",
    "exclusively": "only", "purely": "only", "continue": "further", "continues": "further",
    "continued": "further", "continuing": "further", "optim": "optimizer", "adam": "optimizer",
    "adamw": "optimizer", "sgd": "optimizer", "similarity": "similar", "similarities": "similar",
    "adaptation": "adapt", "adaptations": "adapt", "robustness": "robust", "stability": "stable",
    "instabilities": "unstable", "distortion": "ruin", "distortions": "ruin", "differently": "differ",
    "divergence": "unstable", "regularisation": "regularise", "regularization": "regularise",
    "regulariser": "regularise", "regularizer": "regularise", "replacement": "replac", "memorisation": "overfit",
    "memorization": "overfit", "specialisation": "adapt", "specialization": "adapt", "refinement": "adapt",
    "convergence": "converge", "usefulness": "useful", "efficiently": "cheap", "requirement": "need",
    "requirements": "need", "recalibrating": "updat", "recalibrates": "updat", "recalibrated": "updat",
    "closer": "similar", "closely": "similar", "newly": "new", "freshly": "new",
    "bn": "batchnorm", "batchnorm2d": "batchnorm", "var": "stat", "ft": "tun", "towards": "toward",
}
# Pairs of opposite stems: saying one of them is saying "not" the other.
_PAIRS = [("early", "late"), ("generic", "specif"), ("small", "big"), ("fast", "slow"), ("perform", "worse"),
          ("rise", "drop"), ("similar", "differ"), ("high", "low"),
          ("keep", "ruin"), ("stable", "unstable")]
ANTONYMS = {a: b for pair in _PAIRS for a, b in (pair, pair[::-1])}
POSITIONS = {"early", "late"}
OBJECTS = {"layer", "body", "backbone", "head", "network", "model", "weight"}  # what a step acts on, named
# Comparative claims ("less data", "faster") are turned round in a clause about training from scratch, and are not
# contradicted by a clause about the source dataset ("pretrained on a large dataset").
COMPARATIVES = {"small", "big", "fast", "slow", "perform", "worse", "cheap", "time"}
# An opposite word contradicts a phrasing only when the phrasing says what it is about (a position, a curve, ...):
# "general knowledge is kept" does not deny "learns specific patterns", but "early layers are specific" does.
FLIP_SUBJECTS = POSITIONS | COMPARATIVES | {"valid", "loss", "stat", "weight", "rate", "step", "updat"}
SOURCE = {"pretrain", "imagenet", "source"}
# A clause with the opposite of a quantity the question assumes ("small steps" when it asks about a high learning
# rate) describes the counterfactual, so what it says counts the other way round.
QUANTITIES = {"small": {"big", "high"}, "low": {"big", "high"}, "big": {"small", "low"}, "high": {"small", "low"},
              "fast": {"slow"}, "slow": {"fast"}}
_CANON = set(SYNONYMS.values())
# Stems whose negation does not flip a claim: the things a claim is about, not what it says of them.
NOUNS = {"accuracy", "layer", "weight", "model", "network", "data", "featur", "head", "edg", "textur", "imagenet",
         "class", "task", "stat", "batch", "rate", "time", "valid", "grad", "requires_grad", "net", "neuron",
         "step", "loss", "curve", "set", "domain", "source", "target", "body", "backbone", "optimizer", "bias"}
PRONOUNS = {"they", "them", "these", "those", "it", "which", "that", "both", "this", "ones", "are", "is", "be",
            "was", "were", "become", "becomes"}
# Conjunctions that always start a new clause; "and"/"or" do so only before a new subject or verb.
CONTRASTS = {"but", "while", "whereas", "although", "though", "however", "otherwise", "meanwhile", "whilst"}
_BREAKS = CONTRASTS | {"because", "since", "so", "which", "where", "hence", "therefore", "thus", "then", "afterwards",
                       "next"}
_SCRATCH_NAMED = re.compile(r"\bscratch\b|\brandom(?:ly)? (?:init|weight)")
_COMPARAND = {"than", "compared", "versus", "vs", "unlike"}
_EXCEPT = {"except", "excluding", "besides", "apart"}
# Verbs that make a fragment a statement rather than a keyword.
VERBS = {"freez", "unfreez", "train", "tun", "adapt", "replac", "updat", "ruin", "keep", "load", "use", "start",
         "add", "set", "call", "put", "detect", "capture", "encode", "learn", "converge", "take", "give", "work",
         "prevent", "stop", "reach", "overfit", "rise", "drop", "begin", "watch", "monitor", "evaluate", "reduce",
         "avoid", "pick", "choose", "decide", "apply", "run", "compute", "unfreeze", "cut", "limit", "lead",
         "cause", "mean", "turn", "build", "repeat", "is", "are", "be", "was", "were", "do", "does", "can", "will",
         "should",
         "need", "needs", "have", "has", "make", "makes", "get", "become", "becomes", "must", "would", "could"}
# Domain words that typos are corrected towards (besides the synonym table).
DOMAIN_WORDS = {"knowledge", "pretrained", "dataset", "features", "generalize", "generalise", "specific",
                "overfitting", "convolutional", "parameters", "gradient", "gradients", "learning", "training",
                "imagenet", "accuracy", "validation", "frozen", "freezing", "unfreeze", "classifier", "textures",
                "representations", "similar", "different", "statistics", "batchnorm", "running", "variance",
                "transfer", "catastrophic", "forgetting", "unstable", "performance", "architecture", "automated",
                "efficient", "adapters", "weights", "layers", "early", "later", "generic", "scratch", "labelled",
                "requires_grad", "optimizer", "capacity", "memorise", "memorize", "destroy", "preserve",
                "protect", "retain", "update", "updated", "learned", "specialise", "specialize", "details",
                "domain", "smaller", "faster", "better", "cheaper", "ood", "distribution"}
_VOCAB = sorted(set(SYNONYMS) | DOMAIN_WORDS)
# Words any answer to these questions uses: repeating them is not echoing the prompt.
QUESTION_WORDS = {"and", "or", "why", "how", "explain", "describe"}
ECHO_FREE = {"finetuning", "finetune", "finetuned", "model", "layer", "network", "pretrained", "train", "training"} | \
    QUESTION_WORDS
_LEMMA_ORDER = ("VERB", "NOUN", "ADJ", "ADV")


class Verdict(str, Enum):
    """What an answer does with one concept."""

    ASSERTED = "asserted"
    CONTRADICTED = "contradicted"
    ABSENT = "absent"


@dataclass(frozen=True)
class Word:
    """A content word's canonical stem and whether a negation in its clause governs it."""

    stem: str
    negated: bool = False
    either: bool = False  # a danger a purpose guards against ("so you don't wreck the features"): both polarities


@dataclass
class Clause:
    """One clause of an answer: its words, whether it speaks of training from scratch, and its raw text."""

    words: list[Word]
    text: str
    scratch: bool = False
    lemmas: frozenset[tuple[str, str]] = frozenset()  # (lemma, stem) per content word, for echo detection
    counterfactual: bool = False  # speaks of the opposite of the question's premise ("small steps" for a high LR)
    hypothetical: bool = False  # "would", "if", "otherwise": says what could happen, so it asserts but never denies
    span: str = ""  # the answer's own words for this clause (its comma-delimited part), quoted as evidence
    states: bool = True  # its sentence has a predicate (see `states`); a clause that does not decides nothing
    sentence: int = 0  # which sentence of the answer it belongs to


@lru_cache(maxsize=8192)
def canon(word: str) -> str:
    """Canonical stem: a course synonym, else the lemma, else the nearest domain word for a likely typo."""
    word = word.strip("_") if word.endswith("_") and word != "requires_grad_" else word
    if word in SYNONYMS:
        return SYNONYMS[word]
    lemmas = getAllLemmas(word)
    for upos in _LEMMA_ORDER:
        if upos in lemmas:
            lemma = lemmas[upos][0]
            return SYNONYMS.get(lemma, lemma)
    if len(word) >= 5 and word.isalpha():
        best = process.extractOne(word, _VOCAB, scorer=Levenshtein.distance,
                                  score_cutoff=2 if len(word) >= 8 else 1)
        if best is not None and best[0] != word:
            return canon(best[0])
    return word


# What a loop over tensors names its variable: `p.requires_grad = False` freezes one tensor.
PARAMETER_NAMES = r"p|params?|parameters?|w|b|t|tensor|weight|bias|\w*_(?:weight|bias)"


# A danger named by what guards against it ("small steps, so you don't wreck the features", "to avoid forgetting"): the
# clause says the danger is real and that it is prevented, so it neither denies the danger nor the protection.
_DANGERS = "ruin|wreck|destroy|mess|damag|lose|los|forget|forgot|overwrit|distort|wipe|eras|trash|overfit"
_DANGER = f"(?:{_DANGERS})"
# ... or by what a step keeps from happening to a named thing ("so the running mean/var don't get overwritten", "so
# that their statistics are not updated"): the change would happen without the step, so this denies nothing.
_KEPT_FROM = (r"\bso (?:that )?(?:the|its|their|your|those|these)(?: [\w/]+){1,5}? (?:do|does|will|would|are|is|can) "
              r"not(?= (?:get |be )?(?:" + _DANGERS + r"|updat|chang|drift))")
_GUARDED = re.compile(r"\bso (?:that )?(?:(?:you|we|it|they|the \w+|its \w+|their \w+|your \w+) )?(?:do|does|will|"
                      r"would) not(?= " + _DANGER + r")|" + _KEPT_FROM
                      + r"|\b(?:avoid|prevent)(?:s|ed|ing)?(?= " + _DANGER
                      + r")|\bnot to(?= " + _DANGER + r")|\bwithout(?= " + _DANGER + r")")


def normalize(text: str) -> str:
    """Lowercase, expand contractions and denial framings, fold compounds and code into plain words."""
    text = text.lower().replace("’", "'").replace("`", " ").replace("e.g.", " ").replace("i.e.", " ")
    for short, full in _CONTRACTIONS:
        text = text.replace(short, full)
    text = re.sub(r"\b(do|does|did|is|are|was|were|has|have|had|should|would|could|must|need)nt\b", r"\1 not", text)
    text = re.sub(r"\b(?:cant|wont)\b", lambda m: {"cant": "can not", "wont": "will not"}[m.group(0)], text)
    text = re.sub(r"\b(?:cuz|coz|bc|b/c)(?=\s)", "because", text)  # chat spellings of the words that hold a claim
    text = re.sub(r"\bw/o\b", "without", text)
    text = re.sub(r"\b(?:more |very )?data[- ]efficient\b", "needing less data", text)  # not "more data"
    text = re.sub(r"\bur\b", "your", text)
    text = re.sub(r"\bu\b", "you", text)
    text = re.sub(r"\binstead of\b", "not", text)  # "instead" alone ("starts instead from ...") denies nothing
    text = (text.replace("pre-trained", "pretrained").replace("pre trained", "pretrained")
            .replace("fine-tun", "finetun").replace("fine tun", "finetun").replace("from-scratch", "from scratch")
            .replace("un-freez", "unfreez")
            .replace("over-fit", "overfit").replace("task-specific", "task specific").replace("batch-norm", "batchnorm")
            .replace("transfer learning", "transfer_learning").replace("deep learning", "deep_learning")
            .replace("machine learning", "machine_learning").replace("weight decay", "weight_decay")
            .replace("learning rate", "rate")
            .replace("learning-rate", "rate").replace("running mean", "running_mean"))
    text = re.sub(r"\bfrom (?:nothing|zero|the ground up)\b", "from scratch", text)
    text = re.sub(r"\bat (?:the same|one|a) time\b", "at once", text)  # idioms of "time" that say nothing of compute
    text = re.sub(r"\b(?:every|each|any|all the|most of the) time\b", "always", text)
    text = re.sub(r"\bout[- ]of[- ]distribution\b", "ood", text)
    text = re.sub(r"\bin[- ]distribution\b", "in_distribution", text)
    text = re.sub(r"\b(models?|networks?|nets?|cnns?|resnets?)(?: that was| which was| that has been| already| was "
                  r"already| has already been| had already been| had been)? (?:trained|learned|learnt) "
                  r"(on|with|using)\b", r"\1 pretrained \2", text)  # "a model trained on loads of images" was
    # pretrained: its training is not the fine-tuning the answer goes on to describe
    text = re.sub(r"\bless (?:accurate|effective|robust|reliable)\b", "worse", text)  # not "small accurate"
    text = re.sub(r"\b(?:more|less) (general|generic|basic|universal|abstract|specific|specialised|specialized|"
                  r"complex|simple)\b", r"\1", text)  # "the first layers are more general": no quantity of anything
    text = re.sub(r"\bnot (?:work|works|working|perform|performs|performing|do|does|doing)(?: that| so| very)? well\b",
                  "worse", text)  # "from scratch it just doesn't work well"
    text = re.sub(r"\b(worse|better|more|less|faster|slower|higher|lower|bigger|smaller|larger) then\b", r"\1 than",
                  text)  # "even worse then a linear probe": the comparison, misspelt
    text = re.sub(r"\b(?:end|ends|ended|ending) up\b", "becomes", text)  # "ends up below a linear probe": no end
    # of training named
    text = re.sub(r"\bby (?:heart|rote)\b", "memorise", text)  # "remembers the training images by heart"
    text = re.sub(r"\b(?:far |way |much )?(?:too few|too little|insufficient|nowhere near enough|not (?:that|so|very) "
                  r"many)\b", "not enough", text)  # "50 photos is too few": a shortfall, not a small size
    text = re.sub(r"\s*(?:->|=>|→)\s*", " _then_ ", text)  # a note's arrow: what follows is its own claim
    text = _GUARDED.sub(r"\g<0> _either_ ", text)
    text = re.sub(r"\b(?:keeps?|kept|keeping|continues?|continued|continuing|carry on|goes on)\s+(?:on\s+)?"
                  r"(training|learning|tuning|to train|to learn)\b", r"further \1", text)
    text = re.sub(r"\b(?:go|goes|went|going|gone|shoots?|creeps?|moves?|starts? going|heads?|ticks?) up\b|"
                  r"\b(?:go|goes|went|going|gone|turns?|turned|turning|trends?|trending|heads?|moves?) upwards?\b",
                  "rises", text)
    text = re.sub(r"\b(train|val|valid|test)_(loss|acc|accuracy)\b",
                  lambda m: f"{m.group(1)} {'accuracy' if m.group(2) == 'acc' else 'loss'}", text)  # logged names
    text = re.sub(r"\b(?:go|goes|went|going|gone|moves?|heads?|comes?|ticks?) down\b", "drops", text)
    text = re.sub(r"\b(?:crank|turn|dial|bring)(?:s|ed|ing)? (?:the )?(lr|rate)(?: way| right| all the way)? down\b",
                  r"lower the \1", text)  # "crank the lr way down"
    text = re.sub(r"\bhow (?:much|many)\b", "amount of", text)  # a quantity named, not claimed large or small
    text = re.sub(r"\bhow (?:big|large|small)\b", "size of", text)
    text = re.sub(r"\bhow (?:fast|high|low)\b", "how", text)
    text = re.sub(r"\b(keeps?|kept|keeping|protects?|protected|protecting|saves?|guards?|shields?)\b(?! \w+ing\b)"
                  r"([^.,;:]{0,60}?)\bfrom (?:being |getting )?", r"\1\2 not ",
                  text)  # "keeps X from being overwritten", not "keeps updating its statistics from the new batches"
    text = re.sub(r"\b(?:(?:just )?an? )?(?:outdated|obsolete|old[- ]fashioned|overrated|unnecessary|pointless|"
                  r"needless) (?:trick|idea|practice|technique|habit|step|hack|thing)\b|"
                  r"\b(?:just )?(?:a )?(?:waste of time|myth)\b|"
                  r"\b(?:outdated|obsolete|old[- ]fashioned|overrated|overkill)\b",
                  "not necessary", text)  # a practice dismissed ("freezing is an outdated trick") is a practice denied
    text = re.sub(r"\b(?:unnecessary|needless|pointless|useless|irrelevant|optional)\b", "not necessary", text)
    text = re.sub(r"\beven (?:when|if|though|with)\b|\bregardless of\b|\bin spite of\b|\bdespite\b", "although despite",
                  text)  # a concession is its own clause, marked: "despite requires_grad false"
    text = _DENIAL.sub(" not ", text)
    text = _INTENSIFIER.sub("", text)
    text = re.sub(r"\b((?:lower|reduc|decreas|cut|drop)\w* (?:the |your |its )?(?:lr|rate))(?: by)? (?:a lot|much|a "
                  r"bunch|loads|heaps|significantly|drastically|a ton|way down)\b", r"\1", text)  # "lower the lr a lot"
    text = re.sub(r"\b(?:a lot|lots|loads|heaps|a ton|tons) of\b", "many", text)  # "a lot of data": a quantity
    text = re.sub(r"\ba lot\b", "much", text)  # "the weights change a lot"
    text = re.sub(r"([a-z_][\w.\[\]]*)\s*=\s*(?:torch\.)?(?:nn\.)?(?:linear|sequential)\b",
                  r"replace \1 with a new linear", text)  # "model.fc = nn.Linear(...)" replaces the head
    text = re.sub(r"\b((?:[a-z_]\w*\.)*([a-z_]\w*))\.requires_grad\s*=\s*(?=false\b)",
                  lambda m: m.group(0) if re.fullmatch(PARAMETER_NAMES, m.group(2)) else
                  f"{m.group(1)} requires_grad_on_module ", text)  # the trap: a flag on the module, not its tensors
    text = _DEPTH.sub(lambda m: f"{'early' if m.group(1) else 'late'} {m.group(3)}", text)
    text = re.sub(r"\bthe (?:later|last|final|deeper|higher|top)\b", "the late", text)
    text = re.sub(r"\bthe (?:earlier|first|initial|lower|shallow)\b", "the early", text)
    text = re.sub(r"weights\s*=\s*['\"]?(?:\w+\.)?(?:imagenet1k_v\d|default)['\"]?|pretrained\s*=\s*true",
                  " pretrained imagenet weights ", text)  # torchvision: resnet18(weights="DEFAULT")
    text = re.sub(r"(?<=[a-z)])\s+=\s+(?=[a-z(])", " is ", text)  # notes: "lower = general"
    text = re.sub(r"(?<=[a-z_])\.(?=[a-z_])", " ", text)  # model.eval() -> model eval
    text = re.sub(r"(?<=\w)\(\)", "", text)
    return text.replace("(", " _aside_ ").replace(")", " _end_ ")  # a parenthesis: see `_clause`


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"[.;:!?\n]+(?:\s|$)|[;:!?\n]|\s[-–—]\s", text) if s.strip()]


def _words(fragment: str, marks: bool = False) -> list[str]:
    """The words of a normalized fragment; a parenthesis's marks only where a clause is read (`_clause`)."""
    found = [w for w in re.split(r"[^a-z0-9_.\-]+|(?<![0-9])\.|\.(?![0-9])|-(?![0-9])", fragment) if w]
    return found if marks else [w for w in found if w not in PAREN_MARKS]


_HEADING = re.compile(r"(^|[.;!?\n]\s*)((?:[\w'-]+[ /]+){0,2}[\w'-]+)\s*:\s+")


def sentences(text: str) -> list[tuple[str, list[str]]]:
    """The answer's sentences in its own words (for evidence), each with its comma-delimited parts as written; a
    short heading before a colon ("Small and similar: freeze most layers") stays with what it introduces."""
    text = re.sub(r"\b(e\.g|i\.e)\.", r"\1", text, flags=re.IGNORECASE)
    text = _HEADING.sub(lambda m: m.group(1) + m.group(2) + (" " if _heading(m.group(2)) else ": "), text)
    text = re.sub(r"\b([a-z]+) ([a-z]+), ([a-z]+) ([a-z]+)\b", _one_noun, text, flags=re.IGNORECASE)
    text = re.sub(r"\([^()]*\)(?=\s*\w)", lambda m: m.group(0).replace(",", "\0"), text)  # inside a clause:
    # "early blocks (conv1, layer1) hold edge detectors" is one part
    text = "\n".join(_steps(line) for line in text.split("\n"))
    return [(s.strip(), [p.strip().replace("\0", ",") for p in re.split(r"[,|]|\s/|/\s", s) if p.strip()])
            for s in _sentences(text)]


DEGREES = {"more", "less", "much", "most", "least", "many", "few", "fewer", "enough", "only", "all"}


def _one_noun(m: re.Match) -> str:
    """ "sends big, chaotic updates": two adjectives of one noun, after a verb or a function word, are one part."""
    before, first, second, noun = (w.lower() for w in m.groups())
    held = before in FUNCTION or "VERB" in getAllLemmas(before)
    adjectives = all("ADJ" in getAllLemmas(w) and w not in FUNCTION | DEGREES for w in (first, second))
    return m.group(0).replace(",", "\0") if held and adjectives and "NOUN" in getAllLemmas(noun) else m.group(0)


def _step(part: str) -> bool:
    """A part that opens with a step of a recipe: "then", or a base verb of the course ("set", "replace", "train")."""
    word = (re.findall(r"[a-z]+", part.lower()) or [""])[0]
    return word == "then" or (_verb_lemma(word) == word and canon(word) in VERBS and word not in FUNCTION)


def _steps(line: str) -> str:
    """A chain of steps joined by arrows ("load it -> freeze it -> train the head") is a list of steps, and so are
    steps numbered in one line; an arrow after anything but a step says what follows from it ("small + similar ->
    train only the head")."""
    parts = re.split(r"\s(?:->|=>|→)\s", line)
    out = parts[0]
    for before, part in zip(parts, parts[1:]):
        out += (" | " if _step(before) and _step(part) else " -> ") + part
    numbered = list(_NUMBERED.finditer(out))  # "1 load the model 2 freeze it 3 train the head": steps, in order
    if len(numbered) >= 2 and [int(m.group(1)) for m in numbered] == list(range(1, len(numbered) + 1)) and \
            sum(_step(m.group(2)) for m in numbered) * 2 >= len(numbered):
        for m in reversed(numbered[1:]):
            out = out[:m.start()] + " |" + out[m.start():]
    return out


_NUMBERED = re.compile(r"(?:^|(?<=\s))(\d{1,2})[.)]?\s+([A-Za-z]+)")


def _heading(words: str) -> bool:
    """A label such as "Small and similar", not a clause: no negation, auxiliary or inflected verb, but for a
    participle opening a label of two words at most ("Carried over:", "Kept:", "Learned anew:")."""
    found = re.findall(r"[\w'-]+", words.lower())
    for i, w in enumerate(found):
        lemma = _verb_lemma(w)
        participle = i == 0 and len(found) <= 2 and (w.endswith("ed") or w in PARTICIPLES)
        if w in NEGATIONS or w in FINITE or (lemma and lemma != w and not w.endswith("ing") and not participle):
            return False
    return True


PARTICIPLES = {"kept", "learnt", "frozen", "brought", "taken", "left", "built", "made", "thrown"}


def units(text: str) -> list[str]:
    """Full sentences, ended by . ! ? or a new line: a colon or semicolon joins what the predicate test reads."""
    text = re.sub(r"\b(e\.g|i\.e)\.", r"\1", text, flags=re.IGNORECASE)
    return [u for u in re.split(r"[.!?\n]+(?:\s|$)|[!?\n]", text) if u.strip()]


def unit_states(unit: str, alone: bool) -> bool:
    """Whether one full sentence of an answer states something (see `states`)."""
    return states([w for _, parts in sentences(unit) for part in parts for w in _words(normalize(part))], alone)


# A small grammar for "a claim needs a predicate" (see `states`).
FINITE = {"is", "are", "am", "was", "were", "be", "been", "can", "could", "will", "would", "shall", "should", "may",
          "might", "must", "does", "do", "did", "has", "have", "had", "cannot", "get", "gets", "got", "become",
          "becomes", "became", "need", "needs", "means", "keeps", "let", "lets"}
SUBJECTS = {"it", "they", "you", "we", "i", "he", "she", "this", "that", "these", "those", "which", "who", "one",
            "everything", "nothing", "something"}
FUNCTION = FINITE | SUBJECTS | NEGATIONS | {
    "the", "a", "an", "its", "their", "your", "our", "his", "her", "each", "every", "any", "some", "all", "both",
    "of", "to", "in", "on", "for", "with", "from", "by", "at", "into", "than", "as", "over", "about", "through",
    "and", "or", "but", "so", "because", "since", "while", "when", "if", "whereas", "although", "then", "there",
    "what", "how", "why", "where", "them", "us", "me", "too", "very", "only", "just", "also", "even"}


def _verb_lemma(word: str) -> str | None:
    found = getAllLemmas(word)
    return found["VERB"][0] if "VERB" in found else None


def _imperative(words: list[str]) -> bool:
    """A base verb opening the part with something after it that is not another bare verb: "freeze the layers"."""
    words = words[1:] if words and words[0].isdigit() else words  # "1) load the model": a numbered step
    if len(words) < 2 or _verb_lemma(words[0]) != words[0] or words[0] in FUNCTION \
            or "ADJ" in getAllLemmas(words[0]):
        return False
    after = words[1]
    return after in FUNCTION or _verb_lemma(after) is None or "NOUN" in getAllLemmas(after) or after.isdigit()


def states(sentence: list[str], alone: bool = True) -> bool:
    """Whether a sentence's words have the structure of a statement rather than a run of keywords.

    Up to three content words are a short answer ("much less", "only the head"), if held together by a function
    word or if they are the whole answer ("overfitting"); "Unstable, diverge." among other fragments is not. A
    longer sentence states
    something only when it is held together by grammar: function words (articles, pronouns, prepositions,
    conjunctions, auxiliaries, negations) making up at least an eighth of it ("too many weights for a tiny
    dataset: it overfits" is read as one sentence, see `units`). A run
    of nouns, adjectives and bare verbs has none of that glue, in any order or punctuation. Imperative parts
    ("freeze the early layers"), terse clauses ("val loss rises") and short subject-verb-object clauses are
    checked per part (`_imperative`, `_terse`, `_clause_shape`).
    """
    glue = sum((w in FUNCTION or w in STOPWORDS) and w not in NEGATIONS | {"_then_", "_either_"}  # "no gradient"
               for w in sentence)
    if len(sentence) - glue <= 3:
        return glue > 0 or alone
    return glue >= max(1.0, len(sentence) / 8)


def _clause_shape(words: list[str]) -> bool:
    """A short subject-verb-object clause without function words: "small batches give noisy statistics"; adverbs
    ("pretrained weights already encode good features") are set aside."""
    kinds = [k for k in (getAllLemmas(w) or ({"ADJ": (w,)} if w in _VOCAB else {}) for w in words)  # "pretrained"
             if set(k) != {"ADV"}]
    if not 3 <= len(kinds) <= 8:
        return False
    for i in range(1, min(4, len(kinds) - 1)):
        subject, rest = kinds[:i], kinds[i + 1:]
        if "VERB" in kinds[i] and "NOUN" in kinds[i - 1] \
                and all(k.keys() & {"NOUN", "ADJ"} for k in subject) \
                and all(k.keys() & {"NOUN", "ADJ", "ADV"} for k in rest):  # one verb: not a run of bare verbs
            return True
    return False


def _terse(words: list[str]) -> bool:
    """A short part ending in an inflected verb after its subject noun: "val loss rises", "features overwritten"."""
    if not 2 <= len(words) <= 5 or words[-1].endswith("ing"):
        return False
    lemma, before = _verb_lemma(words[-1]), getAllLemmas(words[-2])
    if lemma is None or lemma == words[-1] or "NOUN" not in before or words[-2] in FUNCTION:
        return False
    return "ADJ" not in before or "NOUN" not in getAllLemmas(words[-1])  # "bottom frozen", not "big updates"


def clauses(text: str, said: bool | None = None, before: Clause | None = None) -> list[Clause]:
    """Cut an answer into clauses of polarised stems, with subjects carried into clauses that lack one; each clause
    keeps the part of the answer it came from and whether its sentence states anything (`said`: decided by the
    caller for a sentence cut from a longer answer, `before`: the clause before it there, whose talk of scratch a
    pronoun opening this text goes on with: "...from scratch; this demands a large dataset")."""
    out: list[Clause] = []
    previous: Clause | None = None
    full = units(text)
    written = [(sentence, unit_states(unit, len(full) == 1) if said is None else said)
               for unit in full for sentence in sentences(unit)]
    for number, ((_, parts), stated) in enumerate(written):
        about_scratch = False  # "from scratch the network must learn every feature, so it needs much data": the
        # sentence goes on about scratch until it turns ("but", "while") or names fine-tuning (random crops, or a
        # random head, are no network trained from scratch)
        normal = [normalize(part) for part in parts]
        commands = [_imperative(_words(part)) for part in normal]
        listed = sum(commands) >= max(2, len(parts) / 2)  # a list of steps: its verbless items are steps too
        for span, part, command in zip(parts, normal, commands):
            raw = _words(part, marks=True)
            bare = _words(part)
            part_states = stated or command or listed or _terse(bare) or _clause_shape(bare)
            pieces: list[tuple[list[str], bool, str]] = []  # (words, negation carried from an "or" before it, the
            # word that began it)
            current: list[str] = []
            carry = paired = False
            joint = ","
            for i, w in enumerate(raw):
                nxt = raw[i + 1] if i + 1 < len(raw) else ""
                if w in PAIRED or (w == "both" and (nxt in DETERMINERS or
                                                    "VERB" not in getAllLemmas(nxt) and bool(getAllLemmas(nxt)))):
                    paired = True  # "between the head and the body", "both the training and the validation loss
                    # rise": its "and" joins the pair
                elif w in ("and", "or") and paired:
                    paired = False
                    current.append(w)
                    continue
                if (w in _BREAKS and not (w == "so" and (canon(nxt) in COMPARATIVES or _degree(nxt)))) or \
                        (w in ("and", "or", "nor") and _starts_clause(nxt)):
                    if current:
                        pieces.append((current, carry, joint))
                    carry = w in ("or", "nor") and any(x in NEGATIONS for x in current) or \
                        _gerunds_denied(current, w, nxt)
                    current, joint = [], w
                    continue
                current.append(w)
            if current:
                pieces.append((current, carry, joint))
            for piece, carried, joint in pieces:
                clause = _clause(piece, carried, previous)
                tuning = any(w.stem in ("tun", "pretrain") for w in clause.words)
                if joint in CONTRASTS or tuning:
                    about_scratch = False
                clause.scratch = clause.scratch or about_scratch or (
                    not out and before is not None and before.scratch and piece[0] in PRONOUNS and not tuning)
                about_scratch = about_scratch or (clause.scratch and bool(_SCRATCH_NAMED.search(clause.text)))
                if clause.words:
                    clause.span, clause.states, clause.sentence = span, part_states, number
                    out.append(clause)
                    previous = clause
    return out


PAIRED = {"between"}  # words whose "A and B" names a pair, never the start of a second clause; so does "both"
# before a noun ("both stay frozen and the head trains" is two clauses)
DETERMINERS = {"the", "your", "its", "their", "our", "my", "these", "those"}


def _gerunds_denied(current: list[str], joint: str, nxt: str) -> bool:
    """A second gerund joined to a denied one ("instead of being overwritten and losing the features", "without
    forgetting or drifting"): the denial covers both."""
    return joint in ("and", "or") and nxt.endswith("ing") and \
        any(w in NEGATIONS and v.endswith("ing") for w, v in zip(current, current[1:]))


def _degree(word: str) -> bool:
    """An adjective or adverb after "so" ("so far that", "so big"): a degree, not the start of a new clause."""
    found = getAllLemmas(word)
    return word not in FUNCTION and bool(found.keys() & {"ADJ", "ADV"}) and "VERB" not in found


def _starts_clause(word: str) -> bool:
    return word in PRONOUNS or word in {"the", "we", "you", "its", "their", "then", "so", "only"} or \
        word in {"in", "during", "when", "once", "if", "nothing", "everything", "something"} or \
        canon(word) in VERBS or canon(word) in POSITIONS or word in VERBS  # "... and in train mode it updates"


def _clause(raw: list[str], carried: bool, previous: Clause | None) -> Clause:
    words: list[Word] = []
    negated, scratch = carried, False
    drop_position = False
    first_negation: int | None = None
    either = compared = aside = False
    outside = negated
    denied_at = -9
    for i, w in enumerate(raw):
        if w == "_then_":  # "small data can't constrain them -> memorises": the negation ends at the arrow
            negated = False
            continue
        if w == "_aside_":  # "early layers barely move (tiny lr)": what a parenthesis adds is not under the
            outside, negated = negated, negated and compared  # denial before it, and the denial resumes after it
            aside = True
            continue
        if w == "_end_":
            negated, aside = outside, False
            continue
        if w == "_either_":
            either = True
            continue
        if w in NEGATIONS:  # a second denial undoes the first only close to it ("does not stop", "not without");
            # "don't compute a gradient and the optimizer doesn't change it" denies twice
            negated = not negated if w != "nor" and i - denied_at <= 3 else True
            denied_at = i
            drop_position = True
            first_negation = len(words) if first_negation is None else first_negation
            continue
        if w in _COMPARAND:  # "faster than training from scratch": what follows is the thing compared against
            negated = compared = True
            continue
        if w in _EXCEPT:  # "freeze everything except the head": what follows is set aside
            break
        if w in STOPWORDS or w in ("and", "or"):
            continue
        stem = canon(w)
        if w in ("rest", "remaining", "else") and previous is not None:  # "freeze the early layers, train the
            # rest": the other position than the one just named; with none named ("new head, freeze the rest") none
            named = [x.stem for x in previous.words if x.stem in POSITIONS]
            stem = ANTONYMS[named[0]] if named else stem
        if not stem:
            continue
        if drop_position and stem in POSITIONS:  # "not the early layers": that position is excluded, not flipped
            drop_position = False
            continue
        drop_position = False
        if stem == "scratch" and not negated and not aside and not _random_head(raw[i + 1:]):  # "lr=0.1 (a
            # from-scratch value) makes huge jumps" speaks of fine-tuning: a parenthesis names scratch in passing
            scratch = True
        words.append(Word(stem, negated and stem not in NOUNS and stem not in POSITIONS, either))
        either = False
    after = words[first_negation:] if first_negation is not None else []
    denial = DENIED_BY | NOUNS | _FILLERS
    if after and first_negation and all(w.stem in denial or w.stem.isdigit() for w in after) and \
            any(w.stem in DENIED_BY for w in after):  # "X is not the problem": X is what is denied
        words = [Word(w.stem, w.stem not in NOUNS and w.stem not in POSITIONS and not w.negated)
                 for w in words[:first_negation]]
        scratch = scratch and any(w.stem == "scratch" and not w.negated for w in words)
    text = " ".join(raw)
    if previous is not None and raw and (raw[0] in PRONOUNS or canon(raw[0]) in VERBS or raw[0] in VERBS):
        if not any(w.stem in POSITIONS or w.stem in OBJECTS for w in words):  # "..., then train them": the
            # layers just named; a step naming its own ("replace the last layer, freeze the body") inherits nothing
            words = [w for w in previous.words if w.stem in POSITIONS] + words
        if {w.stem for w in words} <= {"rise", "drop", "only", "far", "again"}:  # "the validation loss turns around
            # and climbs": a curve's bare verb goes on with the subject before it
            subject = list(takewhile(lambda w: w.stem not in VERBS, previous.words))
            words = [w for w in subject if w.stem not in {x.stem for x in words}] + words
        scratch = scratch or (previous.scratch and not any(w.stem in ("tun", "pretrain") and not w.negated
                                                           for w in words))
    hypothetical = bool(HYPOTHETICAL.intersection(raw)) and not _RULE.search(" ".join(raw))
    return Clause(words, text, scratch, frozenset(lemmas(raw)), hypothetical=hypothetical)


def _random_head(after: list[str]) -> bool:
    """Whether "random" describes a new head ("a random(ly initialised) head"): a fresh head is no network trained
    from scratch."""
    rest = [w for w in after if w not in STOPWORDS and canon(w) not in ("init", "initialise", "initialize", "new")]
    return bool(rest) and canon(rest[0]) == "head"


def lemmas(raw: list[str]) -> set[tuple[str, str]]:
    """(lemma, course stem) of each content word: the lemma tells what repeats given text, the stem what it means."""
    out = set()
    for w in raw:
        if w in STOPWORDS or w in NEGATIONS:
            continue
        found = getAllLemmas(w)
        out.add((next((found[u][0] for u in _LEMMA_ORDER if u in found), w), canon(w)))
    return out


@lru_cache(maxsize=4096)
def compile_phrasing(phrasing: str) -> tuple[Word, ...]:
    """The words a phrasing requires, each with the polarity it must have ("not updated": updat negated; what follows
    "than" is negated, as in an answer)."""
    out: list[Word] = []
    negated = False
    for w in _words(normalize(phrasing)):
        if w in NEGATIONS or w in _COMPARAND:  # "better than both": read as an answer's clause reads it
            negated = True
            continue
        if w in STOPWORDS or w in _BREAKS or w in ("and", "or"):  # a break word never sits inside a clause
            continue
        stem = w if w in _CANON else canon(w)
        if stem:
            out.append(Word(stem, negated and stem not in NOUNS and stem not in POSITIONS))
    return tuple(out)


def turns(stems: set[str], clause: Clause) -> bool:
    """Whether the clause says the opposite of what its words say for these stems: a counterfactual, or a comparison
    made about training from scratch ("from scratch it needs more data")."""
    about_scratch = clause.scratch and bool(stems & COMPARATIVES) and not stems & ({"scratch"} | SOURCE)
    return clause.counterfactual != about_scratch


def match(phrasing: str, clause: Clause, opposites: bool = True, turn: bool = True,
          misconception: bool = False) -> Verdict:
    """Whether the clause says what the phrasing says, its opposite, or neither (opposites=False: negation only). A
    guarded danger matches either polarity, but never a misconception: guarding against it is no claim it happens."""
    wanted = compile_phrasing(phrasing)
    if not wanted:
        return Verdict.ABSENT
    have = {(w.stem, w.negated) for w in clause.words}
    have |= set() if misconception else {(w.stem, not w.negated) for w in clause.words if w.either}
    if clause.scratch:  # "from scratch the net must learn everything, so it overfits": its subject is still scratch
        have.add(("scratch", False))
    flips = named_scratch = 0
    subject = opposites and any(w.stem in FLIP_SUBJECTS for w in wanted)
    for w in wanted:
        opposite = ANTONYMS.get(w.stem) if subject or (opposites and w.stem in POSITIONS) else None
        if (w.stem, w.negated) in have or (opposite and (opposite, not w.negated) in have):
            continue
        if (w.stem, not w.negated) in have or (opposite and (opposite, w.negated) in have):
            if w.stem == "scratch":  # naming training from scratch is no claim that fine-tuning does it
                named_scratch += 1
            else:
                flips += 1
            continue
        return Verdict.ABSENT
    if (flips % 2 == 0 and flips) or (named_scratch and not flips):
        return Verdict.ABSENT
    verdict = Verdict.CONTRADICTED if flips else Verdict.ASSERTED
    stems = {w.stem for w in wanted}
    turned = turn and turns(stems, clause)
    if not opposites:  # strict reading: a turned clause only ever asserts, so its contradictions stay weak
        return (Verdict.ASSERTED if verdict is Verdict.CONTRADICTED else Verdict.ABSENT) if turned else verdict
    if turned:
        verdict = Verdict.CONTRADICTED if verdict is Verdict.ASSERTED else Verdict.ASSERTED
    elif verdict is Verdict.CONTRADICTED and stems & COMPARATIVES and not stems & SOURCE \
            and any(w.stem in SOURCE for w in clause.words):
        return Verdict.ABSENT
    return verdict


@dataclass
class Decision:
    """The verdict on one concept, the answer's words that decided it, and the misconception it states, if any."""

    concept: Concept
    verdict: Verdict = Verdict.ABSENT
    misconception: str | None = None  # the wrong belief the answer states, when the bank names one
    evidence: str = ""  # the part of the answer that decided it; empty exactly when the verdict is ABSENT
    fragment: str = ""  # a part without a predicate that would have decided it: a person should look
    opposite_only: bool = False  # contradicted only by an opposite word, not by a negation or a named misconception
    strength: int = 0  # words in the longest phrasing that asserted it, one more if it starts with a rare word
    against: str = ""  # contradicted by a misconception, yet this part of the answer states the concept: a person
    # weighs the two
    misstated: frozenset[str] = frozenset()  # every part of the answer that states one of its misconceptions
    learned: bool = False  # credited by the second reader (reader.py), not by a phrasing


CONDITIONS = {"if", "when", "whenever"}


def _opening(clause: Clause) -> str:
    """The word a clause begins with (its subject, or the conjunction that frames it)."""
    return clause.text.split(" ", 1)[0]


def conditionals(kept: list[Clause]) -> list[Clause]:
    """A condition and the clause it governs read as one claim: "if your data is small and similar, train only the
    head" states the rule only as a whole. A condition opening its sentence joins the clause after it, one closing it
    joins the clause before. A joined claim only asserts: its parts, read alone, are what deny (held-out answers
    joined this way read as invented contradictions)."""
    out = []
    for i, clause in enumerate(kept):
        if _opening(clause) not in CONDITIONS:
            continue
        after = kept[i + 1] if i + 1 < len(kept) and kept[i + 1].sentence == clause.sentence else None
        before = kept[i - 1] if i and kept[i - 1].sentence == clause.sentence else None
        first, second = (clause, after) if after else (before, clause)
        if first is None or second is None or not (first.states and second.states):
            continue
        out.append(framed([first, second]))
    return out


def concessions(kept: list[Clause]) -> list[Clause]:
    """A concession read with the claim it concedes to: in "BN keeps updating its statistics, even with
    requires_grad=False" the statistics update despite the flag. One opening its sentence joins the clause after it,
    any other the clause before. The joined claim only asserts."""
    out = []
    for i, clause in enumerate(kept):
        if _opening(clause) != "despite":
            continue
        before = kept[i - 1] if i and kept[i - 1].sentence == clause.sentence else None
        after = kept[i + 1] if i + 1 < len(kept) and kept[i + 1].sentence == clause.sentence else None
        other = before or after
        if other is not None and other.states and clause.states:
            out.append(framed([other, clause] if before else [clause, other]))
    return out


ANAPHORS = {"it", "they"}  # subjects that stand for what the clause before them spoke of
BARE_STEP = {"train", "tun", "only", "few", "epoch", "little", "bit", "couple"}  # "..., then train (it) a few epochs"


VERDICT_WORDS = {"overfit", "sign", "clear", "classic", "typical", "mean", "indicate", "show", "mild", "kind", "only",
                 "big", "clearest", "tell"}  # "..., that's (also) a sign of overfitting"


def verdicts_on(kept: list[Clause]) -> list[Clause]:
    """A verdict that names what the clause before it shows ("if both losses go down together, that's overfitting
    too") read with that clause as one claim: a rule the learner states, so it can state a misconception."""
    out = []
    for before, clause in zip(kept, kept[1:]):
        stems = {w.stem for w in clause.words}
        if "overfit" in stems and stems <= VERDICT_WORDS and before.sentence == clause.sentence and before.states \
                and not any(w.negated for w in clause.words) and _opening(clause) in PRONOUNS:
            out.append(replace(joined([before, clause]), hypothetical=False))
    return out


def continuations(kept: list[Clause]) -> list[Clause]:
    """A clause whose subject is a pronoun read with the clause before it in its sentence: in "from scratch the net
    must learn every feature, so it will just overfit" the second clause says what the first one's subject does. A
    bare "train (it)" after a step trains what that step made: "swap the fc layer for your classes, then train".
    Like a condition, the joined claim only asserts."""
    return [framed([before, clause]) for before, clause in zip(kept, kept[1:])
            if before.states and clause.states and (
                (_opening(clause) in ANAPHORS and before.sentence == clause.sentence)
                or _bare_step(clause))]


def _bare_step(clause: Clause) -> bool:
    """ "train (it / only that)", with at most a "with ..." saying how ("train only that with an optimizer given the
    trainable params"): a step with no object of its own."""
    step, *how = re.split(r"\b(?:with|using|via)\b", clause.text, maxsplit=1)
    if how and not {"it", "that", "them", "this", "only", "just"} & set(step.split()):
        return False  # "train with a small rate" names no object: it is a step of its own
    written = {canon(w) for w in step.split()}
    stems = {w.stem for w in clause.words if w.stem in written}  # "train it": an inherited position is no object
    return bool(stems & {"train", "tun"}) and stems <= BARE_STEP and not any(w.negated for w in clause.words)


def framed(parts: list[Clause]) -> Clause:
    """A joined claim that keeps its parts' framing: about training from scratch, or counter to the premise."""
    return replace(joined(parts), scratch=any(c.scratch for c in parts),
                   counterfactual=any(c.counterfactual for c in parts))


def joined(parts: list[Clause]) -> Clause:
    """Clauses of one sentence read as one claim (a condition with its clause, the two halves of an "A & B"
    phrasing): their words together, quoted as one span; it only ever asserts (`hypothetical`)."""
    return Clause([w for c in parts for w in c.words], " ".join(c.text for c in parts),
                  lemmas=frozenset().union(*(c.lemmas for c in parts)), hypothetical=True,
                  sentence=parts[0].sentence, span=", ".join(dict.fromkeys(c.span for c in parts)))


# Stems any answer about fine-tuning uses: a phrasing of one of them alone is weak evidence (see `confident`).
COMMON = {"pretrain", "perform", "weight", "layer", "data", "featur", "train", "tun", "model"}


def both_parts(phrasings: list[str], answer_clauses: list[Clause]) -> list[tuple[str, Clause]]:
    """A phrasing "A | B & C" is said when one sentence asserts A or B in one clause and C in another ("training
    loss keeps falling while validation loss rises"): the clauses that say them, joined into one claim that only
    asserts."""
    out = []
    for phrasing in (p for p in phrasings if "&" in p):
        parts = [[x for x in part.split("|") if x.strip()] for part in phrasing.split("&")]
        for number in sorted({c.sentence for c in answer_clauses}):
            said = [next((c for c in answer_clauses if c.sentence == number and c.states
                          and any(match(x, c) is Verdict.ASSERTED for x in part)), None) for part in parts]
            if all(said):
                out.append((phrasing, joined(said)))
    return out


def decide(concept: Concept, answer_clauses: list[Clause], common: frozenset[str] = frozenset(COMMON)) -> Decision:
    """Assert, contradict or leave out one concept; a claim wins over a stray opposite elsewhere in the answer, and a
    named misconception wins over the claim, which is kept as `against` for a person to weigh.

    A misconception or a negated phrasing contradicts when nothing asserts the concept; an opposite word alone
    ("small steps ...") is weaker evidence (`opposite_only`). Only clauses that state something decide; a keyword
    fragment that would have decided is kept as `fragment` and is the evidence when nothing else decides.
    """
    asserted = contradicted = opposed = ""
    misstated: set[str] = set()
    named: str | None = None
    fragment = ""
    strength = 0
    joined = both_parts(concept.phrasings, answer_clauses)
    for clause in answer_clauses + [c for _, c in joined]:
        verdicts = {phrasing: match(phrasing, clause) for phrasing in concept.phrasings if "&" not in phrasing}
        verdicts.update({phrasing: Verdict.ASSERTED for phrasing, c in joined if c is clause})
        found = ""
        if Verdict.ASSERTED in verdicts.values():  # one clause makes one claim: an asserted phrasing outweighs a miss
            found = "asserted"
        elif Verdict.CONTRADICTED in verdicts.values() and not clause.hypothetical:
            strict = any(match(p, clause, opposites=False) is Verdict.CONTRADICTED for p in concept.phrasings)
            found = "contradicted" if strict else "opposed"
        wrong = [(len(compile_phrasing(p)), m.name) for m in concept.misconceptions for p in m.phrasings
                 if states_misconception(p, clause)]
        if wrong and clause.states:
            misstated.add(clause.span)
        mistake = max(wrong)[1] if wrong else None
        right = max((len(compile_phrasing(p)) for p, v in verdicts.items() if v is Verdict.ASSERTED), default=0)
        if mistake and max(wrong)[0] >= right:  # the misconception, unless the concept matched with more words
            found = "contradicted"
        if not found:
            continue
        if not clause.states:
            fragment = fragment or clause.span
            continue
        if found == "asserted":
            asserted = asserted or clause.span
            strength = max([strength] + [len(compile_phrasing(p)) + (compile_phrasing(p)[0].stem not in common)
                                         for p, v in verdicts.items() if v is Verdict.ASSERTED])
        elif found == "contradicted":
            contradicted = contradicted or clause.span
            named = named or mistake
        else:
            opposed = opposed or clause.span
    if asserted and named:  # a claim beside its misconception: labellers called the concept contradicted in 143 of
        # 175 open answers, so the misconception decides and a person weighs the claim
        return Decision(concept, Verdict.CONTRADICTED, named, evidence=contradicted, fragment=fragment,
                        against=asserted, misstated=frozenset(misstated))
    if asserted:  # a claim beside a stray opposite: held-out answers meant the claim more often
        return Decision(concept, Verdict.ASSERTED, evidence=asserted, fragment=fragment, strength=strength,
                        misstated=frozenset(misstated))
    if contradicted or opposed:  # unnamed: the concept's first misconception, if it has one
        named = named or next((m.name for m in concept.misconceptions), None)
        return Decision(concept, Verdict.CONTRADICTED, named, evidence=contradicted or opposed, fragment=fragment,
                        opposite_only=not contradicted, misstated=frozenset(misstated))
    if fragment:  # a fragment next to real sentences was meant as the claim far more often: a suggestion, not sure
        return Decision(concept, Verdict.ASSERTED, evidence=fragment, fragment=fragment,
                        misstated=frozenset(misstated))
    return Decision(concept, misstated=frozenset(misstated))


@dataclass
class Scored:
    """Per-concept decisions for one answer, the guards that fired, and whether the scorer is sure."""

    decisions: list[Decision]
    flags: tuple[str, ...] = ()
    confident: bool = True
    doubted: tuple[str, ...] = ()  # credited concepts that answers people labelled say are all but absent (reader.py)

    @property
    def credited(self) -> int:
        """Concepts asserted and not contradicted anywhere in the answer."""
        return sum(d.verdict is Verdict.ASSERTED for d in self.decisions)


def is_keyword_list(sentence: str, separators: str = r"[,/|+&]|\band\b|\bor\b", short_share: float = 0.75) -> bool:
    """A run of three or more fragments, mostly short (`short_share`), that mostly state nothing: keywords, not
    claims."""
    fragments = [f for f in re.split(separators, sentence) if _words(f)]
    if len(fragments) < 3:
        return False
    stated = sum(_states(f) for f in fragments)
    short = sum(len(_words(f)) <= 4 for f in fragments) / len(fragments)
    return short >= short_share and (stated == 0 or (len(fragments) >= 4 and stated < len(fragments) / 2))


def _loose(sentence: str) -> bool:
    """Most of its comma-separated fragments have no function word: a list of keywords despite a stray "on" or "no".
    A note whose arrow follows a held clause ("scratch must learn every feature from your data -> needs lots of data,
    overfits small sets") lists what that clause leads to: it is not loose."""
    before, arrow, _ = sentence.partition("_then_")
    if arrow and any(w in FUNCTION and w not in NEGATIONS for w in _words(before)):
        return False
    fragments = [_words(f) for f in re.split(r"[,/|+&]|\band\b|\bor\b", sentence) if _words(f)]
    return sum(any(w in FUNCTION and w not in NEGATIONS for w in f) for f in fragments) < len(fragments) / 2


def _states(fragment: str) -> bool:
    """A verb with something it is said of, held by a function word or given as a command: "freeze the layers" and
    "freeze layers" state; "updated", "less data" and a note such as "weights fixed" do not."""
    raw = _words(fragment)
    content = [w for w in raw if w not in STOPWORDS and w not in NEGATIONS]
    held = _imperative(raw) or any(w in FUNCTION for w in raw if w not in NEGATIONS)
    return len(content) >= 2 and held and any(w in VERBS or canon(w) in VERBS for w in raw)


def _echoes(said: frozenset[tuple[str, str]], given: set[str], rubric: set[str]) -> bool:
    """Two or more words of the prompt or hint (beyond ones every answer uses), and nothing else the rubric needs."""
    repeated = {lemma for lemma, _ in said if lemma in given} - ECHO_FREE
    return len(repeated) >= 2 and not any(stem in rubric for lemma, stem in said if lemma not in given)


def _restates(kept: list[Clause], asked: set[str]) -> bool:
    """Whether the answer's words (beyond hedges) all fold to stems of the question's words (`asked`), two or more
    of them."""
    own = {w.stem for c in kept for w in c.words if len(w.stem) > 2} - HEDGES
    return bool(kept) and len(own & asked) >= 2 and own <= asked


def _leans(span: str, given: set[str]) -> bool:
    """A part of the answer that repeats two or more words of the question or hint."""
    return len({lemma for lemma, _ in lemmas(_words(normalize(span)))} & given - QUESTION_WORDS) >= 2


def _copied_names(sentences: list[str], names: list[str]) -> list[str]:
    """Sentences that reproduce concept names ("Missing: ..."): two or more of them, or one holding two names."""
    hits = {s: sum(fuzz.partial_ratio(n, s) >= 90 for n in names) for s in sentences}
    copies = [s for s in sentences if hits[s] >= 2 or any(fuzz.ratio(n, s.strip()) >= 85 for n in names)]
    return copies if len(copies) >= 2 or any(hits[s] >= 2 for s in copies) else []  # one alone may be honest


def score(answer: str, concepts: list[Concept], *, prompt: str = "", hints: tuple[str, ...] = (),
          shown: tuple[str, ...] = (), max_score: float | None = None) -> Scored:
    """Decide every concept for an answer, after setting aside keyword lists, echoes and text pasted from `shown`
    (what was on screen while answering: a model answer shown earlier in the same attempt, public text). Confidence
    is judged on the points at stake: `max_score` (default one point per concept)."""
    flags: list[str] = []
    kept: list[Clause] = []
    echoes: list[tuple[Clause, str]] = []  # clauses set aside as repeating the question or hint, with their flag
    prompt_words = lemmas(_words(normalize(prompt)))
    prompt_lemmas = {lemma for lemma, _ in prompt_words}
    given = prompt_lemmas | {lemma for h in hints for lemma, _ in lemmas(_words(normalize(h)))}
    rubric = {w.stem for c in concepts for p in c.phrasings for w in compile_phrasing(p)}
    premise = {w.stem for c in clauses(prompt) for w in c.words if not w.negated}
    visible = [normalize(text) for text in shown if text and text.strip()]
    full = units(answer)
    stating = [(sentence, unit_states(unit, len(full) == 1)) for unit in full for sentence, _ in sentences(unit)]
    written = [sentence for sentence, _ in stating]
    normal = [normalize(sentence) for sentence in written]
    names = _copied_names(normal, [normalize(c.name) for c in concepts if len(_words(c.name)) >= 3]) if visible else []
    # concept names are on screen only where feedback was (a retry, a validated notebook): a first answer may say
    # what a name says in as few words
    whole = normalize(answer)
    pasted_whole = len(answer) >= 80 and any(fuzz.partial_ratio(whole, text) >= 90 for text in visible)
    listed = is_keyword_list(";".join(normal), separators=r"[;,/|+&]|\band\b|\bor\b")
    listing = False
    for number, ((sentence, stated), norm) in enumerate(zip(stating, normal)):
        if (not stated and (listed or is_keyword_list(norm, short_share=0))) or \
                (is_keyword_list(norm) and (not stated or _loose(norm))):  # notes without grammar: tell a person
            listing = True
            for clause in clauses(sentence, said=False):
                clause.states, clause.sentence = False, number
                kept.append(clause)
        elif pasted_whole or (len(norm) >= 40 and any(fuzz.partial_ratio(norm.strip(), text) >= 90
                                                      for text in visible)):
            flags.append("pasted-model-answer")
        elif norm in names:
            flags.append("pasted-concept-names")
        else:
            sentence_clauses = clauses(sentence, said=stated, before=kept[-1] if kept else None)
            for clause in sentence_clauses:
                clause.sentence = number
            said_all = frozenset().union(*(c.lemmas for c in sentence_clauses))
            for clause in sentence_clauses:
                said = said_all if _echoes(said_all, given, rubric) else clause.lemmas
                if not _echoes(said, given, rubric):
                    clause.counterfactual = counterfactual(clause, premise)
                    kept.append(clause)
                else:
                    echoes.append((clause, "prompt-echo" if {lemma for lemma, _ in said} & given <= prompt_lemmas
                                   else "hint-echo"))
    if _restates(kept, {stem for _, stem in prompt_words}):  # every word is the question's, or one folding to its stem
        # ("better" for "improve"): the whole answer restates the question
        echoes += [(clause, "prompt-echo") for clause in kept]
        kept = []
    common = frozenset(COMMON | premise)
    read = kept + conditionals(kept) + concessions(kept) + continuations(kept) + verdicts_on(kept)
    decisions = [decide(c, read, common) for c in concepts]
    mistaken = [d.misstated for d in decisions]
    for i, concept in enumerate(concepts):  # a clause stating another concept's misconception earns this one nothing
        wrong = set().union(*(spans for j, spans in enumerate(mistaken) if j != i))
        if decisions[i].verdict is Verdict.ASSERTED and decisions[i].evidence in wrong:
            decisions[i] = decide(concept, [c for c in read if c.span not in wrong], common)
    claimed = {d.evidence for d in decisions if d.verdict is Verdict.ASSERTED}
    for i, concept in enumerate(concepts):  # an opposite word in a part that states another concept ("big gradients
        # distort the features") is that concept's claim, not a denial of this one ("LP-FT gets small gradients")
        if decisions[i].opposite_only and decisions[i].evidence in claimed:
            decisions[i] = decide(concept, [c for c in read if c.span not in claimed], common)
    for clause, flag in echoes:  # an echo that decides a concept: a person looks, unless a part of the answer that
        # does not lean on the question's words decided that concept the same way
        echoed = [(decide(c, [clause]).verdict, d) for c, d in zip(concepts, decisions)]
        if any(said is not Verdict.ABSENT and (said is not d.verdict or _leans(d.evidence, given))
               for said, d in echoed):
            flags.append(flag)
    if any(d.fragment for d in decisions) and not any(c.states for c in kept):
        flags.append("keyword-list" if listing else "no-statement")  # keywords in any order: nothing is asserted
        decisions = [Decision(d.concept) for d in decisions]
    elif any(d.fragment and d.evidence == d.fragment for d in decisions):
        flags.append("fragment")  # credited from a keyword fragment next to real statements: a person confirms
    if any(d.against for d in decisions):
        flags.append("self-contradiction")
    if len(set(PADDING.findall(answer.lower()))) >= 2:
        flags.append("padding")
    per_concept = (len(concepts) if max_score is None else max_score) / max(len(concepts), 1)
    return Scored(decisions, tuple(dict.fromkeys(flags)),
                  confident(decisions, kept, flags, per_concept, unexplained(decisions, kept, common)))


# Words of promotional filler ("leverages the power of prior knowledge in a holistic way"): an answer using two of
# them says something vague about a concept more often than it states it, so a person judges what it credits.
PADDING = re.compile(r"\b(?:leverag\w*|holistic\w*|synerg\w*|elegant\w*|cornerstone|paradigm|journey|innovative|"
                     r"clever\w*|numerous|powerful|the power of|seamless\w*|nuanced|principled|scalable|"
                     r"best practices?|smart\w*|modern|crucial|essential|strategic\w*|well-rounded|rigorous|"
                     r"remarkabl\w*|fascinating|exciting|ever-changing|cutting-edge|state-of-the-art|game[- ]changer|"
                     r"thoughtful\w*|careful consideration|(?:wide|broad) range|great outcomes|compelling|"
                     r"benefits|trade-offs|practitioners|workflows?|delicate|fundamental\w*|strong foundation|toolbox|"
                     r"valuable insights?|broad spectrum|trustworthy|responsible|increasingly|empowers?|efficiencies|"
                     r"healthier)\b")


# Words of a learner's hedge ("I'm not totally sure about the rest"): a part made of them says nothing unread.
HEDGES = {"sure", "know", "think", "guess", "idea", "remember", "exactly", "totally", "explain", "rest", "mainly",
          "basically", "probably", "maybe", "certain", "cause", "reason", "main", "why", "how", "hope", "sense",
          "exact", "technique", "practice", "people"}


def states_misconception(phrasing: str, clause: Clause) -> bool:
    """Whether the clause states a misconception's phrasing as it stands, in its own words' polarity: not turned,
    not as a hypothetical, pairing its place and amount as the clause pairs them, and with a denial the learner's own
    rather than the far side of a comparison ("worse than a linear probe trained on the frozen body")."""
    wanted = compile_phrasing(phrasing)
    compared = any(w.negated for w in wanted) and not _COMPARAND.intersection(phrasing.split()) and \
        bool(_COMPARAND.intersection(clause.text.split()))
    return not clause.hypothetical and not compared and \
        match(phrasing, clause, opposites=False, turn=False, misconception=True) is Verdict.ASSERTED and \
        not turns({w.stem for w in wanted}, clause) and paired_as(phrasing, clause) and \
        not frozen_elsewhere(wanted, clause)


def frozen_elsewhere(wanted: tuple[Word, ...], clause: Clause) -> bool:
    """Whether every "frozen" of the clause belongs to another part of the network than the phrasing's ("train that
    head with the body frozen", "the head learns to use the frozen features" say nothing of a frozen head)."""
    stems = {w.stem for w in wanted}
    if "freez" not in stems or not stems & (OBJECTS | POSITIONS):  # "frozen forever" names no part: any will do
        return False
    others = (OBJECTS | {"featur", "rest"}) - stems
    places = [i for i, w in enumerate(clause.words) if w.stem == "freez"]
    return bool(places) and all(any(0 <= j < len(clause.words) and clause.words[j].stem in others
                                    for j in (i - 1, i + 1)) for i in places)


SIDES = {"early": "early", "input": "early", "late": "late", "head": "late", "output": "late"}
AMOUNTS = {"small": "small", "low": "small", "big": "big", "high": "big"}
ACTIONS = {"freez": "freeze", "train": "train", "unfreez": "train", "tun": "train"}
ROLES = {"generic": "generic", "specif": "specific"}


def paired_as(phrasing: str, clause: Clause) -> bool:
    """A clause that gives both ends of the network opposite amounts ("low for the first layers and higher for the
    head"), opposite treatments ("freeze the early layers and train the last ones") or opposite roles ("early layers
    are generic, later ones task-specific") pairs each with the end written next to it, in the order the clause uses:
    a phrasing of one end and one amount, treatment or role ("early high", "freeze late", "early specific") is said
    only if the clause pairs them so."""
    return _paired(phrasing, clause, AMOUNTS, sides=2) and _paired(phrasing, clause, ACTIONS, sides=0) and \
        _paired(phrasing, clause, ROLES, sides=2)


def _paired(phrasing: str, clause: Clause, values: dict[str, str], sides: int) -> bool:
    """`paired_as` for one kind of value, where the clause names at least `sides` ends of the network (an amount
    pairs only where both ends are named; a treatment wherever one is: "freeze most and train the last ones")."""
    wanted = [w.stem for w in compile_phrasing(phrasing)]
    side = next((SIDES[s] for s in wanted if s in SIDES), None)
    value = next((values[s] for s in wanted if s in values), None)
    marks = [("side", SIDES[w.stem]) if w.stem in SIDES else ("value", values[w.stem])
             for w in clause.words if (w.stem in SIDES or w.stem in values) and not w.negated]
    if side is None or value is None or len({v for k, v in marks if k == "value"}) < 2 or \
            len({v for k, v in marks if k == "side"}) < sides:
        return True
    pairs, lead = set(), marks[0][0]  # each end takes the nearest amount or treatment on the side the clause leads with
    for i, (kind, mark) in enumerate(marks):
        if kind == "side":
            near = reversed(marks[:i]) if lead == "value" else marks[i + 1:]
            other = next((v for k, v in near if k == "value"), None)
            if other is not None:
                pairs.add((mark, other))
    return (side, value) in pairs


def counterfactual(clause: Clause, premise: set[str]) -> bool:
    """Whether a clause speaks of the opposite of the question's premise ("with a small rate, ..." when the question
    asks about a high one); one that also names the premise's own quantity ("a big lr on your small dataset") speaks
    of the premise."""
    stated = {w.stem for w in clause.words if not w.negated and w.stem in QUANTITIES}
    given = [QUANTITIES[p] for p in premise if p in QUANTITIES]
    return any(QUANTITIES[s] & premise and s not in premise for s in stated) and \
        not any(QUANTITIES[s] in given for s in stated)


def unexplained(decisions: list[Decision], kept: list[Clause], common: frozenset[str]) -> int:
    """Stated parts of the answer that decided no concept yet say something of their own (two or more stems beyond
    the words every answer uses): where a concept left out may have been said in words no phrasing reaches."""
    used = {d.evidence for d in decisions} | {d.fragment for d in decisions}
    return len({c.span for c in kept if c.states and not any(c.span in span for span in used if span)
                and len({w.stem for w in c.words if len(w.stem) > 2} - common - NOUNS - HEDGES) >= 2})  # "m", "B A":
    # a loop variable or a matrix's letter says nothing of its own


ZEROING = {"keyword-list", "no-statement", "prompt-echo", "hint-echo", "pasted-model-answer", "pasted-concept-names"}


def confident(decisions: list[Decision], kept: list[Clause], flags: list[str], per_concept: float = 1.0,
              unused: int = 0) -> bool:
    """Sure when the decisions that held-out answers showed to be doubtful cannot move the score by a point.

    Measured on the open labelled sets (ftlab.bench.scorer): guards that zero an answer crediting nothing else agreed
    with the labeller; one-word matches of a word every answer uses (or the question's) agreed on about 60% of
    decisions, longer phrasings on 86-94%; contradictions by an opposite word alone were mostly wrong; and when right
    and wrong claims are mixed, how they weigh is a person's call. A claim next to a stray opposite counts as the
    claim (it was meant in 12 of 17 held-out cases) and is not doubted; one beside its named misconception
    counts as the misconception and is doubted once. Most confident mistakes were honest answers
    saying a concept in words no phrasing reaches, so an answer that leaves a concept out while a stated part of it
    decided nothing (`unexplained`) is doubted too. A keyword note is doubted only where notes outnumber the sentences
    or nothing else credits. Concepts left out that the labelled sets showed to be said in words no phrasing reaches
    (`Concept.check_when_absent`) go to a person where they are worth a point together. Half of a one-point card is
    sure where no guard fired: whatever a person decides, it is less than a point away.
    """
    credited = sum(d.verdict is Verdict.ASSERTED for d in decisions)
    if not set(flags) - {"self-contradiction"} and credited * per_concept < 1 and \
            (len(decisions) - credited) * per_concept < 1:
        return True  # part of a one-point card, no guard fired: no label can be a point away from this score
    among_sentences = sum(c.states for c in kept) >= sum(not c.states for c in kept) and \
        any(d.verdict is Verdict.ASSERTED and d.evidence != d.fragment for d in decisions)
    weighed = sum(bool(d.against) for d in decisions)  # a misconception beside the claim: a person may credit it
    flags = [f for f in flags if f != "self-contradiction"]  # doubted below, one concept each
    if set(flags) == {"fragment"} and among_sentences:  # a note among sentences that credit on their own: on the open
        flags = []  # sets every such answer was scored as its labeller scored it, and no keyword list was among them
    if flags:  # a fragment read as a claim, or an echo beside other statements (an honest answer using the question's
        # words): a person looks
        echoed = {"prompt-echo", "hint-echo"} & set(flags)
        return credited == 0 and set(flags) <= ZEROING | {"padding"} and not (echoed and any(c.states for c in kept))
    contradicted = sum(d.verdict is Verdict.CONTRADICTED for d in decisions)
    doubtful = weighed + sum(d.opposite_only or (d.verdict is Verdict.ASSERTED and d.strength < 2) for d in decisions)
    if credited and contradicted > weighed:
        doubtful += min(credited, contradicted - weighed)
    length = sum(len(c.words) for c in kept)
    barely = length >= 14 and credited < len(decisions) / 2 and not contradicted  # a long answer it may not understand
    left_out = sum(d.verdict is Verdict.ABSENT for d in decisions)
    if unused and length >= 16 and 0 < left_out <= -(-len(decisions) // 2):
        doubtful += 1  # a concept or two left out, and a part it did not read: maybe said in other words (answers
        # leaving out most concepts, and short answers of under about 30 words, were on the open sets short of the
        # ideas and not of the phrasings: 3 of 39 short ones were misjudged)
    unchecked = sum(d.verdict is Verdict.ABSENT and d.concept.check_when_absent for d in decisions)
    return not barely and doubtful * per_concept < 1 and unchecked * per_concept < 1
