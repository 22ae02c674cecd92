"""`ftlab course report`: what a class got wrong, per question, per option, per rubric concept and per coding check.

It reads what grading left behind, so it works after `ftlab course autograde`, plain `nbgrader autograde` and
`ftlab course merge` alike: scores (with a person's regrades) and "needs manual grading" marks from the
gradebook, the answers as written from the autograded notebooks (read with `ast`, never run), and the verdicts
the grader wrote into the coding tasks' test cells. Free text is judged again by the bank's scorer, which is
deterministic, so the concepts and misconceptions shown are the ones the grade was based on.
"""
from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.notebooknode import NotebookNode

from ftlab.assessment.bank import Bank, Card, Choice, Explain, load_bank
from ftlab.assessment.bank.grading import Context, choice_index, concept_decisions
from ftlab.assessment.bank.scorer import Verdict
from ftlab.assessment.course.answers import NoAnswer, read_answer
from ftlab.assessment.course.assignments import BY_NAME, Graded, graded
from ftlab.assessment.course.keys import Keys, load_keys
from ftlab.assessment.course.overlap import public_sentences
from ftlab.assessment.course.restore import grade_id
from ftlab.assessment.course.variants import Variant, asked, course_variants, derive

LOW_DISCRIMINATION = 0.20  # item-rest correlation below this: the question does not track the assessment total
NOTABLE_SHARE = 0.10  # a misconception held by at least this share of the class (and 2 students) is worth reteaching
STATES = {Verdict.ASSERTED: "stated", Verdict.ABSENT: "missing", Verdict.CONTRADICTED: "contradicted"}
# Where each bank topic is taught: the lesson notebooks in lessons/.
LESSON_OF_TOPIC = {"basics": "01_why_fine_tune", "transfer": "01_why_fine_tune", "freezing": "02_freezing",
                   "batchnorm": "02_freezing", "layers": "03_which_layers", "similarity": "03_which_layers",
                   "learning-rate": "04_learning_rates", "optimizer": "04_learning_rates",
                   "recipe": "05_the_recipe", "overfitting": "05_the_recipe",
                   "forgetting": "07_forgetting_and_shift", "adapters": "08_few_parameters"}


class ReportError(ValueError):
    """Nothing to report on (no gradebook, unknown assignment, nothing autograded); the message says what to run."""


@dataclass
class Response:
    """One student's answer to one question, as graded."""

    student: str
    score: float
    attempted: bool = True
    to_person: bool = False  # marked "needs manual grading" and not yet regraded
    choice: int | None = None  # the option picked (choice items)
    concepts: dict[str, str] = field(default_factory=dict)  # concept -> stated / missing / contradicted
    misconceptions: dict[str, str] = field(default_factory=dict)  # wrong belief -> the answer's words that show it
    failures: list[str] = field(default_factory=list)  # coding tasks: the parts of the check that failed
    text: str = ""  # a free-text answer


@dataclass
class Question:
    """One graded cell and every student's response to it."""

    grade_id: str
    kind: str  # card, explain, choice, truefalse, exercise, structure, accuracy
    title: str
    points: float
    item_id: str = ""
    options: tuple[str, ...] = ()
    mistakes: dict[int, str] = field(default_factory=dict)  # option index -> the misconception behind it
    answer: int | None = None  # the keyed option
    concept_names: tuple[str, ...] = ()
    responses: list[Response] = field(default_factory=list)

    def scores(self) -> list[float]:
        return [r.score for r in self.responses]

    def share(self, test) -> float:
        return sum(map(test, self.responses)) / len(self.responses) if self.responses else 0.0

    def stats(self) -> dict[str, float]:
        """Mean and spread in points; the shares full, partial, zero, not attempted and waiting for a person."""
        scores = self.scores() or [0.0]
        full = lambda r: r.attempted and r.score >= self.points > 0
        return {"mean": statistics.fmean(scores), "sd": statistics.pstdev(scores),
                "full": self.share(full),
                "partial": self.share(lambda r: r.attempted and 0 < r.score < self.points),
                "zero": self.share(lambda r: r.attempted and r.score <= 0),
                "not_attempted": self.share(lambda r: not r.attempted),
                "to_person": self.share(lambda r: r.to_person)}


@dataclass
class Misheld:
    """A misconception some of the class showed, where, and what reteaches it."""

    name: str
    questions: list[str]
    students: set[str]
    share: float = 0.0
    lesson: str | None = None
    items: list[str] = field(default_factory=list)  # self-study items that teach the idea


@dataclass
class Report:
    """Everything the report shows for one assignment."""

    assignment: str
    students: list[str]
    questions: list[Question]
    totals: dict[str, float]
    max_total: float
    flags: dict[str, list[str]]  # student -> why the submission was flagged
    seconds: dict[str, float]  # student -> seconds the grader spent running the notebook
    misheld: list[Misheld]  # ranked: the most widely held first
    variants: dict[str, str] = field(default_factory=dict)  # student -> the code of their variant, when on

    def discrimination(self, question: Question) -> float | None:
        """Item-rest correlation: does scoring on this question go with scoring on the rest? None without spread."""
        own = [self.totals.get(r.student, 0.0) for r in question.responses]
        rest = [total - r.score for total, r in zip(own, question.responses)]
        scores = question.scores()
        if len(scores) < 3 or statistics.pstdev(scores) == 0 or statistics.pstdev(rest) == 0:
            return None
        return statistics.correlation(scores, rest)

    def verdict(self, question: Question) -> str:
        """Why a question deserves a look: everyone gets it, nobody does, or it does not discriminate."""
        stats, disc = question.stats(), self.discrimination(question)
        if stats["full"] == 1.0:
            return "everyone gets it"
        if stats["mean"] == 0:
            return "nobody gets it"
        if disc is not None and disc < LOW_DISCRIMINATION:
            return f"does not discriminate (item-rest r = {disc:.2f})"
        return ""

    def reteach(self) -> list[Misheld]:
        """Misconceptions held by a notable share of the class, most widely held first."""
        return [m for m in self.misheld if len(m.students) >= 2 and m.share >= NOTABLE_SHARE]


# ---- reading what grading left ----------------------------------------------------------------------------

def _gradebook_scores(course: Path, assignment: str) -> dict[str, dict[str, tuple[float, float, bool]]]:
    """student -> grade id -> (score, max score, waiting for a person), from nbgrader's gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    if not (course / "gradebook.db").is_file():
        raise ReportError(f"{course} has no gradebook.db: run `nbgrader generate_assignment` and autograde first")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            known = ", ".join(sorted(a.name for a in gb.assignments)) or "none"
            raise ReportError(f"unknown assignment {assignment!r}; the gradebook has: {known}") from None
        out: dict[str, dict[str, tuple[float, float, bool]]] = {}
        for sub in gb.assignment_submissions(assignment):
            grades = {g.name: (float(g.score or 0.0), float(g.max_score), bool(g.needs_manual_grade))
                      for nb in sub.notebooks for g in nb.grades}
            out[sub.student.id] = grades
    return out


def _autograded(course: Path, assignment: str, student: str) -> NotebookNode | None:
    """The student's autograded notebook (not validated: the grader wrote it), or None when there is none."""
    path = course / "autograded" / student / assignment / f"{assignment}.ipynb"
    try:
        return nbformat.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _output_text(cell: NotebookNode) -> list[str]:
    """The lines the grader wrote into a test cell's output (an error for zero, a stream otherwise)."""
    lines: list[str] = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            lines += str(out.get("evalue", "")).splitlines()
        elif out.get("output_type") == "stream":
            text = out.get("text", "")
            lines += ("".join(text) if isinstance(text, list) else text).splitlines()
    return lines


def _failures(kind: str, lines: list[str]) -> list[str]:
    """The failed parts of a coding task, from the grader's verdict lines."""
    for line in lines:
        if line.startswith("Not graded: "):
            return [_general(line)]
    if kind == "structure":
        return [line[4:] for line in lines if line.startswith("[ ] ")]
    why = [line[len("Why: "):] for line in lines if line.startswith("Why: ")]
    wrong = [line.split(": ", 1)[1] for line in lines if line.startswith(("Incorrect: ", "NotAttempted: "))]
    return why or [_general(w.split("; ")[0].split(". ")[0]) for w in wrong]


def _general(feedback: str) -> str:
    """A check's feedback without what differs between students (counts, the first tensor named), so the same
    mistake counts as one: '12 of 30 tensors ... (first: stem.0.weight)' -> 'N of N tensors ...'."""
    return re.sub(r"\d+(\.\d+)?(e-?\d+)?", "N", re.sub(r"\s*\((first|e\.g\.)[^)]*\)", "", feedback)).rstrip(".")


def _question(spec: Graded, grade: str, points: float, bank: Bank) -> Question:
    if spec.kind in ("structure", "accuracy"):
        title = {"structure": "fine-tuning setup", "accuracy": "fine-tuning accuracy"}[spec.kind]
        return Question(grade, spec.kind, title, points)
    item = bank.get(spec.item)
    q = Question(grade, item.kind, item.prompt, points, item_id=item.id)
    if isinstance(item, Choice):
        q.options, q.mistakes, q.answer = tuple(item.options), dict(item.mistakes), item.answer
    elif isinstance(item, (Card, Explain)):
        q.concept_names = tuple(c.name for c in item.concepts)
    return q


def _canonical(q: Question, item: Choice, index: int | None, variant: Variant | None) -> int | None:
    """The picked option as an index into the question's own options: a variant's order is undone; None when the
    student was asked another item of the question's pool (counted in the score, not among its options)."""
    if index is None or variant is None or q.item_id not in variant.labels:
        return index
    picked, order = variant.picks[variant.labels[q.item_id]]
    if picked != q.item_id:
        return None
    return order[index] if item.kind == "choice" else index


def _respond(q: Question, spec: Graded, student: str, graded_score: tuple[float, float, bool],
             cells: dict[str, NotebookNode], keys: Keys, variant: Variant | None) -> Response:
    """What this student did on this question, from the answer cell and the grader's verdict."""
    r = Response(student, graded_score[0], to_person=graded_score[2])
    answer_cell = cells.get(spec.answer)
    source = "".join(answer_cell.get("source", "")) if answer_cell else ""
    if q.kind in ("exercise", "structure", "accuracy"):
        r.attempted = bool(source.strip()) and "raise NotImplementedError" not in source
        r.failures = _failures(q.kind, _output_text(cells.get(q.grade_id, {})))
        return r
    item = asked(q.item_id, keys, variant)
    try:
        value = read_answer(source, spec.variable)
    except NoAnswer:
        r.attempted = False
        return r
    if isinstance(item, Choice):
        index = choice_index(item, value)
        r.attempted = index is not None
        if index is not None and index in item.mistakes and index != item.answer:
            r.misconceptions[item.mistakes[index]] = f"picked {item.letters[index]}) {item.options[index]}"
        r.choice = _canonical(q, item, index, variant)
        return r
    if not isinstance(value, str) or not value.strip():
        r.attempted = False
        return r
    r.text = value
    text, _ = public_sentences(value)  # as the grader reads it (grader.GradeCells.item)
    shown = item.model_answer if isinstance(item, Explain) else item.answer
    result = concept_decisions(item, text, q.points, Context(shown=(shown,), for_instructor=True))
    for decision in result.decisions:
        r.concepts[decision.concept.name] = STATES[decision.verdict]
        if decision.verdict is Verdict.CONTRADICTED:
            wrong = decision.misconception or f"the opposite of: {decision.concept.name}"
            r.misconceptions[wrong] = decision.evidence or value  # the words that decided it
    return r


def build(course: Path, assignment: str, public: Bank | None = None) -> Report:
    """The report of one assignment of the course folder `course`."""
    course = Path(course).resolve()
    if assignment not in BY_NAME:
        raise ReportError(f"unknown assignment {assignment!r}; the course has: {', '.join(BY_NAME)}")
    gradebook = _gradebook_scores(course, assignment)
    keys = load_keys(course)
    specs = graded(BY_NAME[assignment])
    questions: dict[str, Question] = {}
    flags: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    notebooks = {s: nb for s in sorted(gradebook) if gradebook[s] and (nb := _autograded(course, assignment, s))}
    students = list(notebooks)
    if not students:
        raise ReportError(f"no autograded submission of {assignment!r} in {course}: run `ftlab course autograde "
                          f"{assignment}` (or `nbgrader autograde {assignment}`) first")
    config = course_variants(course)
    variants = {s: derive(BY_NAME[assignment], keys, config.secret, s) for s in students} \
        if config.on(assignment) else {}
    for student in students:
        nb = notebooks[student]
        cells = {grade_id(c): c for c in nb.get("cells", []) if grade_id(c)}
        meta = nb.get("metadata", {}).get("ftlab", {})
        seconds[student] = float(meta.get("run_s", 0.0))
        reasons = [f"{f.get('reason')} in {f.get('grade_id') or 'cell ' + str(f.get('cell'))}"
                   for f in meta.get("flags", []) if isinstance(f, dict)]
        for grade, spec in specs.items():
            if grade not in gradebook[student]:
                continue
            points = gradebook[student][grade][1]
            q = questions.setdefault(grade, _question(spec, grade, points, keys.bank))
            response = _respond(q, spec, student, gradebook[student][grade], cells, keys, variants.get(student))
            q.responses.append(response)
            if response.to_person:
                reasons.append(f"{grade} waits for a person")
        if reasons:
            flags[student] = reasons
    order = list(specs)
    ordered = sorted(questions.values(), key=lambda q: order.index(q.grade_id))
    totals = {s: sum(gradebook[s].get(q.grade_id, (0.0,))[0] for q in ordered) for s in students}
    report = Report(assignment, students, ordered, totals, sum(q.points for q in ordered), flags, seconds, [])
    report.misheld = _misheld(report, public if public is not None else load_bank())
    report.variants = {s: v.code for s, v in variants.items()}
    return report


def _misheld(report: Report, public: Bank) -> list[Misheld]:
    """Every misconception shown, with who showed it, ranked by how many; each linked to self-study and a lesson."""
    found: dict[str, Misheld] = {}
    for q in report.questions:
        for r in q.responses:
            wrongs = list(r.misconceptions) + (r.failures if q.kind in ("exercise", "structure") else [])
            for name in wrongs:
                m = found.setdefault(name, Misheld(name, [], set()))
                m.students.add(r.student)
                if q.grade_id not in m.questions:
                    m.questions.append(q.grade_id)
    n = max(len(report.students), 1)
    for m in found.values():
        m.share = len(m.students) / n
        m.items, m.lesson = teaching(m.name, public)
    return sorted(found.values(), key=lambda m: (-len(m.students), m.name))


def teaching(idea: str, public: Bank, limit: int = 3) -> tuple[list[str], str | None]:
    """The self-study items whose concepts, misconceptions and text are closest to `idea`, and the lesson of the
    closest one's topic."""
    from rapidfuzz import fuzz

    scored = []
    for item in public.items:
        if item.kind == "exercise":
            continue
        words = [item.prompt, *(text for text in (getattr(item, "answer", ""), getattr(item, "model_answer", ""))
                                if isinstance(text, str))]
        words += [c.name for c in getattr(item, "concepts", ())]
        words += [m.name for c in getattr(item, "concepts", ()) for m in c.misconceptions]
        words += list(getattr(item, "mistakes", {}).values())
        best = max(fuzz.token_set_ratio(idea, w) for w in words if w)
        scored.append((best, item))
    scored.sort(key=lambda pair: -pair[0])
    chosen = [item for s, item in scored[:limit] if s >= 50]
    lesson = LESSON_OF_TOPIC.get(chosen[0].topic) if chosen else None
    return [item.id for item in chosen], lesson
