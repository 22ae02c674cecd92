"""The bank's coding exercises under the names lessons use: `FreezeAll().check(model=model)`.

Each class binds one exercise item of the bank, which holds everything about it (prompt, hint, solution, the
objects it needs, settings, the check it names in ftlab.assessment.bank.checks). A failed check also makes the concept's
recall items due in the learner's revision.
"""
from __future__ import annotations

from typing import Any, ClassVar

from ftlab.assessment.bank import Exercise, Grade, load_bank
from ftlab.assessment.bank.checks import run, run_code
from ftlab.assessment.selfquiz.exercise_link import exercise_checked


class Practice:
    """One bank exercise for a learner: check(**objects), check_code(snippet, **objects), hint(), solution().

    Its settings are attributes (e.g. `ReplaceHead(num_classes=3)`, or set `num_classes` afterwards)."""

    id: ClassVar[str]  # the bank item it binds

    def __init__(self, **settings: Any):
        self.item: Exercise = load_bank().get(self.id)
        unknown = sorted(set(settings) - set(self.item.settings))
        if unknown:
            raise ValueError(f"{type(self).__name__} has no setting {unknown[0]!r}; its settings are "
                             f"{sorted(self.item.settings) or 'none'}")
        for name, value in {**self.item.settings, **settings}.items():
            setattr(self, name, value)

    @property
    def needs(self) -> list[str]:
        """The names of the objects check() takes."""
        return self.item.needs

    def settings(self) -> dict[str, Any]:
        """The current value of each setting."""
        return {name: getattr(self, name) for name in self.item.settings}

    def hint(self) -> str:
        """A nudge that does not give the code away."""
        return self.item.hint

    def solution(self) -> str:
        """Working code, to read after trying."""
        return self.item.solution

    def verify(self, **objects: Any) -> Grade:
        """Grade the live objects and touch nothing else (no learner progress)."""
        return run(self.item, objects, **self.settings())

    def check(self, **objects: Any) -> Grade:
        """Grade a learner's live objects; a failed check makes the concept's recall items due now in the
        learner's revision, when they keep a progress store."""
        return exercise_checked(self.id, self.verify(**objects))

    def check_code(self, code: str, **objects: Any) -> Grade:
        """Run a snippet on the given objects and grade the result, explaining known wrong snippets."""
        return exercise_checked(self.id, run_code(self.item, code, objects, **self.settings()))


class FreezeAll(Practice):
    id = "ex-freeze-all"


class ReplaceHead(Practice):
    id = "ex-replace-head"


class TrainableOptimizer(Practice):
    id = "ex-optimizer-trainable"


class DiscriminativeLR(Practice):
    id = "ex-discriminative-lr"


class FrozenBatchNorm(Practice):
    id = "ex-frozen-batchnorm"


class HeadOnly(Practice):
    id = "ex-head-only"


class CountTrainable(Practice):
    id = "ex-count-trainable"


class FreezeBelow(Practice):
    id = "ex-freeze-below"


class LayerwiseLR(Practice):
    id = "ex-layerwise-lr"


class UnfreezeTop(Practice):
    id = "ex-unfreeze-top"


class KeepSourceHead(Practice):
    id = "ex-keep-source-head"


class WiseFT(Practice):
    id = "ex-wise-ft"


class LoraBudget(Practice):
    id = "ex-lora-budget"


class BitFit(Practice):
    id = "ex-bitfit"


EXERCISES: dict[str, type[Practice]] = {cls.__name__: cls for cls in Practice.__subclasses__()}
"""Lesson name -> exercise class, e.g. YourTurn("FreezeAll", ...)."""
