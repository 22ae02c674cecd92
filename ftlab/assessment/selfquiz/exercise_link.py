"""A coding exercise that fails its live check pulls the recall items of the concept it tests into revision."""
from __future__ import annotations

from dataclasses import replace

from ftlab.assessment.bank import Grade, Outcome, load_bank
from ftlab.assessment.selfquiz.revise import Reviser
from ftlab.assessment.selfquiz.store import Store, StoreError, default_learner


def exercise_checked(exercise_id: str, result: Grade, learner: str | None = None) -> Grade:
    """Call after every live check. On a failure, and only for a learner who already has a progress store, the
    exercise's recall items become due now, and the returned grade's feedback says so; otherwise `result` as is."""
    if result.correct or result.outcome is Outcome.NOT_ATTEMPTED:
        return result
    store_path = Store.path_for(learner or default_learner())
    if not store_path.exists():
        return result
    try:
        bank = load_bank()
        if exercise_id not in bank:
            return result
        with Store(store_path) as store:
            items = Reviser(bank, store).pull_for_exercise(exercise_id, result.feedback)
    except StoreError:
        return result
    if not items:
        return result
    note = (f" Because this check failed, {len(items)} recall item(s) on the same idea are due now in your "
            f"revision ({', '.join(i.id for i in items)}): run `ftlab revise` or ftlab.revise().")
    return replace(result, feedback=result.feedback + note)

