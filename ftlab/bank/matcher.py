"""Detect rubric concepts in free-text answers, robust to wording, inflection, synonyms and negation."""
from __future__ import annotations

import re
from dataclasses import dataclass

from ftlab.bank.items import Concept

_CONTRACTIONS = {"n't": " not", "'re": " are", "'s": "", "'ve": " have", "'ll": " will", "'d": " would"}
NEGATIONS = {"not", "no", "never", "without", "nor", "neither", "cannot", "hardly", "instead", "nothing", "none"}
# Depth words before a layer noun mean position in the network, not size or speed.
_DEPTH = re.compile(r"\b(?:(lower|bottom|shallow|shallower)|(higher|upper|top|deeper))[ -]"
                    r"(layers?|blocks?|stages?|level)\b")
STOPWORDS = {
    "a", "an", "the", "of", "to", "in", "on", "for", "and", "or", "is", "are", "be", "been", "being", "it", "its",
    "this", "that", "these", "those", "with", "as", "by", "at", "from", "so", "we", "you", "your", "they", "them",
    "their", "our", "do", "does", "did", "can", "could", "will", "would", "should", "which", "what", "while", "then",
    "than", "very", "just", "also", "some", "any", "into", "only", "has", "have", "had", "there", "when", "much",
    "more", "most", "such", "like", "i", "me", "my", "us", "one", "if", "about", "way", "all", "get", "gets", "got",
}
# Words with the same meaning in this course, mapped to one canonical stem.
SYNONYMS = {
    "pretrained": "pretrain", "already": "pretrain",
    "fix": "freez", "fixed": "freez", "lock": "freez", "locked": "freez", "frozen": "freez", "froze": "freez",
    "unchanged": "freez", "untouched": "freez", "static": "freez", "constant": "freez",
    "tune": "tun", "tuning": "tun", "finetune": "tun", "adapt": "adapt", "adjust": "adapt", "adjusting": "adapt",
    "retrain": "train", "training": "train", "learn": "train", "learning": "train", "learns": "train",
    "learned": "train", "learnt": "train", "train": "train", "trained": "train", "fit": "train",
    "small": "small", "smaller": "small", "little": "small", "few": "small", "fewer": "small", "limited": "small",
    "tiny": "small", "less": "small", "scarce": "small", "large": "big", "big": "big", "huge": "big",
    "bigger": "big", "larger": "big", "massive": "big", "lot": "big", "lots": "big", "many": "big",
    "fast": "fast", "faster": "fast", "quick": "fast", "quicker": "fast", "quickly": "fast", "speed": "fast",
    "time": "time", "compute": "time", "resources": "time", "cheaper": "time", "cheap": "time",
    "layer": "layer", "layers": "layer", "block": "layer", "blocks": "layer", "stage": "layer", "stages": "layer",
    "early": "early", "earlier": "early", "first": "early", "lower": "low", "initial": "early",
    "shallow": "early", "bottom": "early", "late": "late", "later": "late", "last": "late", "final": "late",
    "deeper": "late", "deep": "late", "top": "late", "upper": "late", "higher": "high",
    "generic": "generic", "general": "generic", "universal": "generic", "basic": "generic", "simple": "generic",
    "specific": "specif", "specialized": "specif", "specialised": "specif", "particular": "specif",
    "feature": "featur", "features": "featur", "representation": "featur", "representations": "featur",
    "pattern": "featur", "patterns": "featur", "knowledge": "featur",
    "edge": "edg", "edges": "edg", "texture": "textur", "textures": "textur", "corner": "edg", "corners": "edg",
    "lines": "edg", "curves": "edg", "colour": "edg", "color": "edg", "colors": "edg", "colours": "edg",
    "head": "head", "classifier": "head", "output": "head", "fc": "head",
    "replace": "replac", "swap": "replac", "replacing": "replac", "replaced": "replac",
    "overfit": "overfit", "overfitting": "overfit", "overfits": "overfit", "memorize": "overfit",
    "memorise": "overfit", "memorizes": "overfit",
    "gradient": "grad", "gradients": "grad", "grad": "grad",
    "update": "updat", "updates": "updat", "updated": "updat", "updating": "updat", "modify": "updat",
    "change": "updat", "changes": "updat", "changed": "updat", "changing": "updat", "alter": "updat",
    "destroy": "ruin", "destroys": "ruin", "ruin": "ruin", "ruins": "ruin", "wipe": "ruin", "damage": "ruin",
    "forget": "ruin", "forgets": "ruin", "overwrite": "ruin", "overwrites": "ruin", "wreck": "ruin",
    "dataset": "data", "datasets": "data", "data": "data", "images": "data", "examples": "data",
    "samples": "data", "pictures": "data", "photos": "data",
    "similar": "similar", "related": "similar", "alike": "similar", "close": "similar", "resembles": "similar",
    "different": "differ", "dissimilar": "differ", "unrelated": "differ", "far": "differ",
    "accuracy": "perform", "performance": "perform", "results": "perform", "better": "perform",
    "improve": "perform", "improves": "perform", "accurate": "perform",
}
_SUFFIXES = ("ations", "ation", "ings", "ing", "edly", "ed", "ies", "es", "ally", "ly", "s")
# Words that end a clause, and with it the reach of a negation.
BOUNDARIES = {"and", "but", "because", "so", "since", "while", "which", "whereas", "although", "though"}


def normalize(text: str) -> str:
    """Lowercase, expand contractions and turn punctuation and dashes into spaces."""
    text = text.lower().replace("’", "'")
    for short, full in _CONTRACTIONS.items():
        text = text.replace(short, full)
    text = text.replace("pre-trained", "pretrained").replace("fine-tun", "finetun").replace("fine tun", "finetun")
    text = _DEPTH.sub(lambda m: f"{'early' if m.group(1) else 'late'} {m.group(3)}", text)
    return re.sub(r"[^a-z0-9=.]+|(?<![a-z0-9])\.|\.(?![a-z0-9])", " ", text)


def stem(word: str) -> str:
    """Canonical stem: a course synonym if one is listed, else a light suffix strip."""
    if word in SYNONYMS:
        return SYNONYMS[word]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)]
            if suffix == "ies":
                base += "y"
            return SYNONYMS.get(base, SYNONYMS.get(base + "e", base.rstrip("e") if len(base) > 4 else base))
    return word.rstrip("e") if len(word) > 4 else word


@dataclass(frozen=True)
class Token:
    """One content word of an answer with whether a negation governs it."""

    stem: str
    negated: bool


def tokens(text: str) -> list[Token]:
    """Content-word stems; a negation marks the next three content words of its clause as negated."""
    out: list[Token] = []
    for clause in re.split(r"[,;:!?]|\.(?:\s|$)", text):
        countdown = 0
        for word in normalize(clause).split():
            if word in BOUNDARIES:
                countdown = 0
                continue
            if word in NEGATIONS:
                countdown = 3
                continue
            if word in STOPWORDS:
                continue
            out.append(Token(stem(word), countdown > 0))
            countdown = max(countdown - 1, 0)
    return out


def phrase_matches(phrase: str, answer_tokens: list[Token], slack: int = 4) -> bool:
    """True if every content word of the phrase occurs within a short window, with matching polarity."""
    wanted = tokens(phrase)
    if not wanted:
        return False
    window, stems = len(wanted) + slack, {w.stem for w in wanted}
    for start, tok in enumerate(answer_tokens):
        if tok.stem not in stems:
            continue
        span = answer_tokens[max(0, start - window + 1): start + window]
        if all(any(t.stem == w.stem and t.negated == w.negated for t in span) for w in wanted):
            return True
    return False


def covered(answer: str, concepts: list[Concept]) -> list[bool]:
    """For each concept, whether any of its phrasings appears in the answer."""
    answer_tokens = tokens(answer)
    return [any(phrase_matches(p, answer_tokens) for p in c.phrasings) for c in concepts]
