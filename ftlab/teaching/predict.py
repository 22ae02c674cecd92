"""Predict, then run: the student commits a prediction before an experiment, and the notebook scores it
against the numbers that experiment measured.

Committing locks the controls, so the prediction cannot be edited after the results are on screen. A
prediction is either a choice (which strategy wins, which group drifts most) or a number with a tolerance
(roughly how many points a too-high learning rate costs). `commit()` does from code what the button does.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field


@dataclass
class Prediction:
    """One question asked before an experiment; `score(measured)` afterwards says how close the answer was."""

    question: str
    choices: tuple[str, ...] = ()  # a choice question; empty for a number
    unit: str = ""  # a number question: its unit, e.g. "points"
    tolerance: float = 0.0  # a number within this distance of the measured one counts as right
    low: float = 0.0  # a number question: the slider's range
    high: float = 100.0
    committed: str | float | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if not self.choices and not (self.high > self.low and self.tolerance >= 0):
            raise ValueError("a number prediction needs low < high and a tolerance >= 0")
        self._widget = None

    def commit(self, answer: str | float) -> None:
        """Lock in an answer (the Commit button calls this); a second commit is refused."""
        if self.committed is not None:
            raise RuntimeError(f"already committed: {self.committed!r}; predictions cannot change after the fact")
        if self.choices:
            if answer not in self.choices:
                raise ValueError(f"{answer!r} is not one of the choices: {', '.join(self.choices)}")
        elif not (isinstance(answer, (int, float)) and math.isfinite(answer)):
            raise ValueError(f"the prediction is a number in {self.unit or 'the units asked'}, got {answer!r}")
        self.committed = answer if self.choices else float(answer)
        if self._widget is not None:
            self._lock()

    def score(self, measured: str | float, detail: str = "") -> dict:
        """Compare the committed answer with what the run measured; show and return the verdict."""
        if self.committed is None:
            verdict, right = "You did not commit a prediction before the run.", None
        elif self.choices:
            right = self.committed == measured
            verdict = f"You predicted {self.committed!r}; the run measured {measured!r}."
        else:
            off = abs(self.committed - measured)
            right = off <= self.tolerance
            verdict = (f"You predicted {self.committed:g} {self.unit}; the run measured {measured:.3g} {self.unit} "
                       f"(off by {off:.3g}; an answer within {self.tolerance:g} {self.unit} counts as right).")
        result = {"question": self.question, "predicted": self.committed, "measured": measured, "right": right}
        self._show(verdict + (f" {detail}" if detail else ""), right)
        from ftlab.teaching.lessons import record

        record(**{f"prediction {self.question}": result})  # read back by tests/test_lessons.py
        return result

    # ---- notebook view ---------------------------------------------------------------------------------
    def _show(self, text: str, right: bool | None) -> None:
        from IPython.display import HTML, display

        mark = {True: ("#1a7f37", "Right."), False: ("#b42318", "Not this time."), None: ("#9a6700", "")}[right]
        display(HTML(f"<div><b style='color:{mark[0]}'>{mark[1]}</b> {html.escape(text)}</div>"))

    def _build(self):
        import ipywidgets as w

        if self.choices:
            self._input = w.RadioButtons(options=list(self.choices), value=None, layout=w.Layout(width="max-content"))
        else:
            self._input = w.FloatSlider(value=(self.low + self.high) / 2, min=self.low, max=self.high,
                                        step=(self.high - self.low) / 100, description=self.unit,
                                        continuous_update=False)
        self._button = w.Button(description="Commit prediction", button_style="primary", layout=w.Layout(width="auto"))
        self._status = w.HTML("Commit before you run the next cell; it cannot be changed afterwards.")
        self._button.on_click(lambda _: self._clicked())
        self._widget = w.VBox([w.HTML(f"<b>Predict:</b> {html.escape(self.question)}"), self._input,
                               self._button, self._status], layout=w.Layout(border="1px solid #ddd", padding="6px"))
        if self.committed is not None:
            self._lock()
        return self._widget

    def _clicked(self) -> None:
        if self._input.value is None:
            self._status.value = "Pick an answer first."
            return
        try:
            self.commit(self._input.value)
        except (RuntimeError, ValueError) as err:
            self._status.value = html.escape(str(err))

    def _lock(self) -> None:
        self._input.disabled = self._button.disabled = True
        shown = self.committed if self.choices else f"{self.committed:g} {self.unit}"
        self._status.value = f"Committed: <b>{html.escape(str(shown))}</b>. Now run the experiment."

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self._widget or self._build())


def predict(question: str, choices: tuple[str, ...] | list[str] = (), **number) -> Prediction:
    """A Prediction to leave as a cell's last expression: predict("Which wins?", ["a", "b"]) or
    predict("How many points?", unit="points", tolerance=10, low=0, high=100)."""
    return Prediction(question, tuple(choices), **number)
