"""Format checks for the course's released notebooks: they say whether an answer has the right form, never whether
it is right. Grading happens after you submit, outside your kernel, so nothing here holds or computes a key."""
from __future__ import annotations


def _verdict(name: str, problem: str | None) -> None:
    if problem:
        print(f"{name}: {problem}")
    else:
        print(f"{name}: the answer has the right form. It is graded after you submit.")


def letter(name: str, answer: object, letters: str) -> None:
    """A multiple-choice answer must be one of the option letters, e.g. "A"-"D"."""
    ok = isinstance(answer, str) and answer.strip().upper() in letters
    _verdict(name, None if ok else f"must be one of {', '.join(letters)} (a string such as \"{letters[0]}\"), "
                                   f"got {answer!r}.")


def truefalse(name: str, answer: object) -> None:
    """A true/false answer must be the bool True or False."""
    _verdict(name, None if isinstance(answer, bool) else f"must be True or False, got {answer!r}.")


def text(name: str, answer: object) -> None:
    """A written answer must be a non-empty string."""
    ok = isinstance(answer, str) and answer.strip()
    _verdict(name, None if ok else f"must be a non-empty string of a few sentences, got {answer!r}.")


def objects(**named: object) -> None:
    """A coding task's objects must exist: `model` a torch.nn.Module, `optimizer` a torch.optim.Optimizer."""
    import torch

    kinds = {"model": torch.nn.Module, "optimizer": torch.optim.Optimizer}
    for name, value in named.items():
        kind = kinds[name]
        _verdict(name, None if isinstance(value, kind) else f"must be a {kind.__module__}.{kind.__name__}, "
                                                              f"got {type(value).__name__}.")
