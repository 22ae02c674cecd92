"""ipywidgets views of a quiz session: instant feedback, a hint ladder, self-rating, undo, practice retries."""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from html import escape
import ipywidgets as w

from ftlab.assessment.bank import RATINGS, Card, Choice, Exercise, Explain, Grade, Item
from ftlab.assessment.bank.kinds import view
from ftlab.assessment.selfquiz.revise import utcnow
from ftlab.assessment.selfquiz.session import QuizSession

UNSURE = "The scorer is not sure about this answer. Compare it with the model answer and rate yourself:"


def render(session: QuizSession) -> w.VBox:
    """The whole quiz: a notice, one box per item, an undo button and a running score line."""
    status = w.HTML(session.summary())
    refresh = lambda: setattr(status, "value", session.summary())  # noqa: E731
    boxes = [w.HTML(f"<b>{escape(session.notice)}</b>")] if session.notice else []
    for number, item in enumerate(session.items, 1):
        boxes.append(item_box(session, item, number, refresh))
    undo = w.Button(description="Undo last answer")
    undone = w.HTML()

    def on_undo(_) -> None:
        item_id = session.undo()
        undone.value = f"Took back your last answer to <code>{item_id}</code>." if item_id else "Nothing to undo."
        refresh()

    undo.on_click(on_undo)
    if any(isinstance(item, Exercise) for item in session.items):
        bind_q(session)
    return w.VBox([*boxes, w.HBox([undo, undone]), status])


def bind_q(session: QuizSession) -> bool:
    """Make `q` in the notebook this quiz, as its exercise notes say; an unrelated `q` is left alone."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    current = shell.user_ns.get("q")
    if current is not None and type(current).__name__ != "QuizSession":
        return False
    shell.user_ns["q"] = session
    return True


def verdict(session: QuizSession, item: Item, result: Grade) -> str:
    """Feedback HTML saying whether this attempt counted (first) or was practice; a card's answer is not repeated."""
    practice = bool(session.practice.get(item.id)) and session.practice[item.id][-1] is result
    label = ("Practice retry (not counted): " if practice else "First attempt (counts): " if session.schedules
             else "First attempt (scored here; practice, so your revision schedule is unchanged): ")
    if isinstance(item, Card):
        return f"<small>{label}</small><b>{result.outcome.value}</b>: you rated {result.rating}."
    return f"<small>{label}</small>" + result._repr_html_()


def item_box(session: QuizSession, item: Item, number: int, on_answer: Callable[[], None]) -> w.VBox:
    """Header with topic and difficulty, then the kind-specific controls."""
    header = w.HTML(f"<b>{number}. {escape(item.prompt)}</b> <small>({item.topic}, {item.difficulty})</small>")
    feedback = w.HTML()
    rate_box = w.VBox()

    def submit(answer) -> Grade:
        result = session.submit(item.id, answer)
        feedback.value = verdict(session, item, result)
        rate_box.children = self_rating(session, item, feedback, on_answer) if item.id in session.pending else ()
        on_answer()
        return result

    controls = view(item, "widget")(session, item, submit, feedback)
    extra = [set_aside(session, item)] if session.reviser is not None else []
    return w.VBox([header, *controls, feedback, rate_box, *extra],
                  layout=w.Layout(border="1px solid #ddd", padding="6px"))


def set_aside(session: QuizSession, item: Item) -> w.HBox:
    """Suspend (out of revision until unsuspended) or bury (until tomorrow) this item, as in Anki."""
    note = w.HTML()
    suspend, bury = w.Button(description="Suspend"), w.Button(description="Bury until tomorrow")

    def on_suspend(_) -> None:
        session.reviser.store.set_flag(item.id, suspended=True)
        session.set_aside.add(item.id)
        note.value = f"<small>Suspended; <code>ftlab revise --unsuspend {item.id}</code> brings it back.</small>"

    def on_bury(_) -> None:
        session.reviser.store.set_flag(item.id, buried_until=utcnow() + timedelta(days=1))
        session.set_aside.add(item.id)
        note.value = "<small>Buried until tomorrow.</small>"

    suspend.on_click(on_suspend)
    bury.on_click(on_bury)
    return w.HBox([suspend, bury, note])


def self_rating(session: QuizSession, item: Item, feedback: w.HTML, on_answer) -> tuple[w.Widget, ...]:
    """Four buttons for an answer the scorer was unsure about; the learner's rating is what gets recorded."""
    buttons = [w.Button(description=word) for word in RATINGS]

    def on_rate(button: w.Button) -> None:
        rating = session.rate(item.id, button.description)
        feedback.value += f"<br>Recorded your rating: <b>{rating}</b>."
        for b in buttons:
            b.disabled = True
        on_answer()

    for button in buttons:
        button.on_click(on_rate)
    return w.HTML(f"<i>{UNSURE}</i>"), w.HBox(buttons)


def _hint_button(session: QuizSession, item: Item, target: w.HTML) -> w.Button:
    """Each click shows the next rung of the hint ladder; hints taken before answering lower the rating."""
    button = w.Button(description="Hint")
    rungs = len(getattr(item, "hints", [])) or 1

    def on_hint(_) -> None:
        text = session.hint(item.id)
        shown = session.hints_used.get(item.id, 1)
        target.value = f"<i>Hint {shown}/{rungs}:</i> {escape(text)}"
        button.description = "Stronger hint" if shown < rungs else "Hint"

    button.on_click(on_hint)
    return button


def choice_controls(session: QuizSession, item: Choice, submit, feedback: w.HTML) -> list[w.Widget]:
    """Options as radio buttons, Check and Hint; after a check, the mistake behind each wrong option."""
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
    return [radio, w.HBox([check, _hint_button(session, item, hint)]), hint, mistakes]


def explain_controls(session: QuizSession, item: Explain, submit, feedback: w.HTML) -> list[w.Widget]:
    """A text area, Check and Hint; after a check, the model answer."""
    text = w.Textarea(placeholder="Explain in a few sentences...", layout=w.Layout(width="100%", height="90px"))
    model = w.HTML()
    check = w.Button(description="Check", button_style="primary")

    def on_check(_) -> None:
        submit(text.value)
        model.value = f"<i>One good answer:</i> {escape(item.model_answer)}"

    check.on_click(on_check)
    hint = w.HTML()
    return [text, w.HBox([check, _hint_button(session, item, hint)]), hint, model]


def card_controls(session: QuizSession, item: Card, submit, feedback: w.HTML) -> list[w.Widget]:
    """Reveal the answer, then rate your recall with four buttons."""
    answer = w.HTML()
    ratings = w.HBox([w.Button(description=word) for word in RATINGS])
    ratings.layout.display = "none"
    for button in ratings.children:
        button.on_click(lambda b: submit(b.description))

    def reveal(_) -> None:
        answer.value = escape(item.answer).replace("\n", "<br>")
        ratings.layout.display = "flex"

    show = w.Button(description="Reveal answer")
    show.on_click(reveal)
    return [show, answer, ratings]


def exercise_controls(session: QuizSession, item: Exercise, submit, feedback: w.HTML) -> list[w.Widget]:
    """How to check live objects with q.check(...), the hint ladder and the solution on request."""
    names = ", ".join(f"{n}={n}" for n in item.needs)
    how = w.HTML(f"Write your code in a cell, then run <code>q.check({item.id!r}, {names})</code>; "
                 f"<code>q</code> is this quiz (bound for you when it is displayed).")
    hint, solution = w.HTML(), w.HTML()
    show_solution = w.Button(description="Solution")
    show_solution.on_click(lambda _: setattr(solution, "value", f"<pre>{escape(item.solution)}</pre>"))
    return [how, w.HBox([_hint_button(session, item, hint), show_solution]), hint, solution]
