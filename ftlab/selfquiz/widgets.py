"""ipywidgets views of a quiz session: immediate feedback, hints on request, common mistakes, self-rated cards."""
from __future__ import annotations

from html import escape

import ipywidgets as w

from ftlab.bank import Card, Choice, Exercise, Explain, Item
from ftlab.exercises import EXERCISES
from ftlab.selfquiz.session import QuizSession



def render(session: QuizSession) -> w.VBox:
    """The whole quiz: a header, one box per item, and a running score line."""
    status = w.HTML(session.summary())
    boxes = [w.HTML(f"<b>{escape(session.notice)}</b>")] if session.notice else []
    for number, item in enumerate(session.items, 1):
        boxes.append(item_box(session, item, number, lambda: setattr(status, "value", session.summary())))
    return w.VBox([*boxes, status])


def item_box(session: QuizSession, item: Item, number: int, on_answer) -> w.VBox:
    """Header with topic and difficulty, then the kind-specific controls."""
    header = w.HTML(f"<b>{number}. {escape(item.prompt)}</b> <small>({item.topic}, {item.difficulty})</small>")
    feedback = w.HTML()

    def submit(answer) -> None:
        feedback.value = session.submit(item.id, answer)._repr_html_()
        on_answer()

    builders = {Choice: _choice, Explain: _explain, Card: _card, Exercise: _exercise}
    controls = builders[type(item)](item, submit, feedback)
    return w.VBox([header, *controls, feedback], layout=w.Layout(border="1px solid #ddd", padding="6px"))


def _reveal_button(label: str, text: str, target: w.HTML) -> w.Button:
    button = w.Button(description=label)
    button.on_click(lambda _: setattr(target, "value", text))
    return button


def _choice(item: Choice, submit, feedback: w.HTML) -> list[w.Widget]:
    labels = [f"{letter}) {text}" for letter, text in zip(item.letters, item.options)]
    radio = w.RadioButtons(options=[(label, i) for i, label in enumerate(labels)], value=None,
                           layout=w.Layout(width="max-content"))
    mistakes = w.HTML()
    check = w.Button(description="Check", button_style="primary")

    def on_check(_) -> None:
        if radio.value is None:
            feedback.value = "Pick an option first."
            return
        submit(radio.value)
        mistakes.value = "<i>Common mistakes:</i><ul>" + "".join(
            f"<li>{item.letters[i]}: {escape(text)}</li>" for i, text in sorted(item.mistakes.items())) + "</ul>"

    check.on_click(on_check)
    hint = w.HTML()
    return [radio, w.HBox([check, _reveal_button("Hint", escape(item.hint), hint)]), hint, mistakes]


def _explain(item: Explain, submit, feedback: w.HTML) -> list[w.Widget]:
    text = w.Textarea(placeholder="Explain in a few sentences...", layout=w.Layout(width="100%", height="90px"))
    model = w.HTML()
    check = w.Button(description="Check", button_style="primary")

    def on_check(_) -> None:
        submit(text.value)
        model.value = f"<i>One good answer:</i> {escape(item.model_answer)}"

    check.on_click(on_check)
    hint = w.HTML()
    return [text, w.HBox([check, _reveal_button("Hint", escape(item.hint), hint)]), hint, model]


def _card(item: Card, submit, feedback: w.HTML) -> list[w.Widget]:
    answer = w.HTML()
    ratings = w.HBox([w.Button(description=word) for word in ("again", "hard", "good", "easy")])
    ratings.layout.display = "none"
    for button in ratings.children:
        button.on_click(lambda b: submit(b.description))

    def reveal(_) -> None:
        answer.value = escape(item.answer).replace("\n", "<br>")
        ratings.layout.display = "flex"

    show = w.Button(description="Reveal answer")
    show.on_click(reveal)
    return [show, answer, ratings]


def _exercise(item: Exercise, submit, feedback: w.HTML) -> list[w.Widget]:
    exercise = EXERCISES[item.exercise]()
    names = ", ".join(f"{n}={n}" for n in exercise.needs)
    how = w.HTML(f"Write your code in a cell, then run <code>q.check({item.id!r}, {names})</code> "
                 f"(where <code>q</code> is this quiz).")
    hint, solution = w.HTML(), w.HTML()
    return [how, w.HBox([_reveal_button("Hint", escape(exercise.hint()), hint),
                         _reveal_button("Solution", f"<pre>{escape(exercise.solution())}</pre>", solution)]),
            hint, solution]
