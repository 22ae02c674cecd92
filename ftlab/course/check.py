"""Scores for nbgrader test cells: the answer keys stay in the installed bank, never in a notebook.

Every function prints feedback that names no correct answer and returns the score as the cell's
last value, which nbgrader 0.9 records as partial credit. A check never raises and never writes
to stderr, because nbgrader gives zero to a test cell with an error or any stderr output.
"""
from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Callable, Iterator

import torch
from torch import nn

from ftlab.bank import Bank, Outcome, load_bank
from ftlab.bank.grading import grade
from ftlab.exercises import EXERCISES, eval_mode

FROZEN_GROUPS = ("stem", "stage1", "stage2")  # the fine-tuning task keeps these fixed
TRAINED_GROUPS = ("stage3", "stage4", "head")


@functools.lru_cache(maxsize=1)
def bank() -> Bank:
    """The installed question bank, loaded once per kernel."""
    return load_bank()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence warnings, which would reach stderr and zero the cell."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _scored(fn: Callable[..., float]) -> Callable[..., float]:
    """Turn any exception inside a check into feedback and a zero, clamp the rest to [0, points]."""
    @functools.wraps(fn)
    def wrapper(*args, points: float, **kwargs) -> float:
        try:
            with _quiet():
                score = fn(*args, points=points, **kwargs)
        except Exception as err:  # noqa: BLE001 - a student's object may break a check in any way
            print(f"Could not check this answer: {type(err).__name__}: {err}")
            score = 0.0
        return float(round(min(max(score, 0.0), points), 2))
    return wrapper


@_scored
def choice(item_id: str, answer: object, *, points: float) -> float:
    """Multiple choice or true/false: full points or none; a wrong pick shows why it is tempting."""
    result = grade(bank().get(item_id), answer)
    if result.correct:
        print("Correct.")
    elif result.outcome is Outcome.NOT_ATTEMPTED:
        print(result.feedback)
    else:
        print("Not correct." + (f" Why this option is tempting: {result.diagnosis}" if result.diagnosis else ""))
    return points * result.score / result.max_score


@_scored
def explain(item_id: str, answer: object, *, points: float) -> float:
    """Free text scored by the rubric: the share of concepts covered, open to manual regrading."""
    result = grade(bank().get(item_id), answer)
    print(result.feedback)
    return points * result.score / result.max_score


@_scored
def exercise(name: str, *, points: float, **objects: object) -> float:
    """A coding exercise of ftlab.exercises checked on the live objects: full points or none."""
    result = EXERCISES[name]().check(**objects)
    print(result)
    return points * result.score / result.max_score


def _trainable(module: nn.Module) -> list[bool]:
    return [p.requires_grad for p in module.parameters()]


@_scored
def finetune_structure(model: nn.Module, optimizer: torch.optim.Optimizer, *, points: float) -> float:
    """The fine-tuning task's setup, a third of the points each: head, frozen groups, optimizer groups."""
    head = model.head
    checks = {
        "a trainable head with 10 outputs": isinstance(head, nn.Linear) and head.out_features == 10
        and all(_trainable(head)),
        f"{', '.join(FROZEN_GROUPS)} frozen; {', '.join(TRAINED_GROUPS)} trainable":
            not any(flag for g in FROZEN_GROUPS for flag in _trainable(getattr(model, g)))
            and all(flag for g in TRAINED_GROUPS for flag in _trainable(getattr(model, g))),
        "an optimizer holding exactly the trainable parameters, the head at a larger lr than the body":
            _optimizer_ok(model, optimizer),
    }
    for what, ok in checks.items():
        print(f"[{'x' if ok else ' '}] {what}")
    return points * sum(checks.values()) / len(checks)


def _optimizer_ok(model: nn.Module, optimizer: torch.optim.Optimizer) -> bool:
    lr_of = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    head = {id(p) for p in model.head.parameters()}
    if set(lr_of) != trainable or not trainable - head or not head <= set(lr_of):  # a frozen head fails, not raises
        return False
    return min(lr_of[i] for i in head) > max(lr_of[i] for i in trainable - head)


@torch.no_grad()
def measure_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 250) -> float:
    """Accuracy in eval mode with the model's own preprocessing; the model's modes are restored after."""
    device = next(model.parameters()).device
    correct = 0
    with eval_mode(model):
        for i in range(0, len(labels), batch):
            x = model.ftlab.preprocess(images[i:i + batch].to(device))
            correct += (model(x).argmax(1).cpu() == labels[i:i + batch]).sum().item()
    return correct / len(labels)


@_scored
def accuracy(model: nn.Module, data: object, *, threshold: float, points: float) -> float:
    """Full points when accuracy on the held-out test set reaches the threshold, else none."""
    acc = measure_accuracy(model, data.test.images, data.test.labels)
    print(f"Test accuracy {acc:.3f} (needed: {threshold:.2f}).")
    return points if acc >= threshold else 0.0
