"""Predict, then run: a committed prediction is locked, and scored against the measured value."""
import pytest

from ftlab.teaching.predict import predict


def test_a_choice_is_scored_against_the_measured_winner():
    p = predict("Which wins?", ["scratch", "fine-tune"])
    p._build()
    p._input.value = "fine-tune"
    p._clicked()  # what the Commit button does
    assert p.committed == "fine-tune" and p._input.disabled and p._button.disabled
    with pytest.raises(RuntimeError, match="already committed"):
        p.commit("scratch")
    assert p.score("fine-tune")["right"] is True
    assert p.score("scratch")["right"] is False


def test_a_number_is_right_within_its_tolerance():
    p = predict("Points lost?", unit="points", tolerance=10, low=0, high=100)
    p.commit(40)
    assert p.score(48.0)["right"] and not p.score(51.0)["right"]


def test_bad_answers_are_refused_and_nothing_is_committed():
    p = predict("Which wins?", ["a", "b"])
    with pytest.raises(ValueError, match="not one of the choices: a, b"):
        p.commit("c")
    q = predict("How many?", unit="points", low=0, high=10)
    with pytest.raises(ValueError, match="a number in points"):
        q.commit(float("nan"))
    assert p.committed is None and q.committed is None
    with pytest.raises(ValueError, match="low < high"):
        predict("Broken", low=5, high=5)


def test_no_prediction_is_not_scored_as_right_or_wrong():
    p = predict("Which wins?", ["a", "b"])
    p._build()
    p._clicked()  # nothing picked
    assert p.committed is None and "Pick an answer" in p._status.value
    assert p.score("a")["right"] is None
