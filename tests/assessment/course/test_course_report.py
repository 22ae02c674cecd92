"""`ftlab course report` on a scripted class of 30 whose truth is known: which option each student picked and
which misconception each holds. The class is graded by the real CLI in three shards and merged, and the report's
counts must equal the script's; the planted misconceptions must lead the reteach list."""
import csv
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from ftlab.assessment.course.assignments import BY_NAME
from ftlab.assessment.course.keys import load_keys
from ftlab.assessment.course.report import ReportError, build
from ftlab.assessment.course.report_view import pseudonyms, to_html
from ftlab.assessment.course.sandbox import Student, copy_course, nbgrader, solutions, submit

pytestmark = pytest.mark.slow

QUIZZES = Path(__file__).resolve().parents[3] / "quizzes"
ENV = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
CONCEPTS = BY_NAME["concepts"]
BANK = load_keys(QUIZZES).bank
CARDS = dict(enumerate(CONCEPTS.recall, start=1))  # q1, q2
CHOICES = dict(enumerate(CONCEPTS.choices, start=len(CARDS) + 1))  # q3..q11
MC = {n: i for n, i in CHOICES.items() if BANK.get(i).kind == "choice"}
SCRATCH = "Nothing carries over: fine-tuning trains the whole network from scratch and reuses the old head."
PAYLOAD = "<img src=x onerror=\"document.title='ran'\"><script>document.title='ran'</script>"  # shown as text
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # the `browser` mark skips the test without it
SHOT = Path(__file__).resolve().parents[3] / "artifacts" / "class-report.png"
# Planted: (question number, distractor offset from the key, students holding it). Held by 12, 8 and 5 students.
PLANTED = [(list(MC)[3], 1, range(0, 12)), (list(MC)[4], 2, range(12, 20))]
SCRATCH_HOLDERS = range(20, 25)
NOISE = {25: (list(MC)[0], 1), 26: (list(MC)[1], 1)}  # one student each: below the reteach threshold


def ftlab(course: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "ftlab.cli", "course", *args], cwd=course, capture_output=True,
                          text=True, env=ENV)
    assert done.returncode == 0, f"ftlab course {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


def picks(student: int) -> dict[int, int]:
    """The option index each choice question's answer takes for this scripted student (the truth)."""
    out = {n: BANK.get(i).answer for n, i in MC.items()}
    for n, offset, holders in PLANTED:
        if student in holders:
            out[n] = (BANK.get(MC[n]).answer + offset) % len(BANK.get(MC[n]).options)
    if student in NOISE:
        n, offset = NOISE[student]
        out[n] = (BANK.get(MC[n]).answer + offset) % len(BANK.get(MC[n]).options)
    return out


def cohort(keys: dict[str, str]) -> list[Student]:
    students = []
    for s in range(30):
        answers = dict(keys)
        for n, index in picks(s).items():
            answers[MC[n]] = f"q{n} = {BANK.get(MC[n]).letters[index]!r}"
        if s in SCRATCH_HOLDERS:
            answers[CARDS[1]] = f"q1 = {SCRATCH + (PAYLOAD if s == SCRATCH_HOLDERS[0] else '')!r}"
        if s == 29:
            answers[CARDS[2]] = "q2 = ...  # YOUR ANSWER HERE"  # not a string: not attempted
        students.append(Student(f"s{s:02d}", answers))
    return students


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The class of 30, graded by `ftlab course autograde` in three shards and merged."""
    course = copy_course(QUIZZES, tmp_path_factory.mktemp("report") / "course")
    nbgrader(course, "generate_assignment", "concepts", "--create")
    keys = solutions(course / "source" / "concepts" / "concepts.ipynb")
    for student in cohort(keys):
        submit(course, "concepts", student)
    files = []
    for i in range(3):
        ftlab(course, "autograde", "concepts", "--shard", f"{i}/3", "--no-sandbox", "--jobs", "2",
              "--out", str(course / f"shard{i}.json"))
        files.append(str(course / f"shard{i}.json"))
    ftlab(course, "merge", *files)
    return course


def test_counts_equal_the_scripted_truth(course):
    report = build(course, "concepts")
    assert len(report.students) == 30
    by_item = {q.item_id: q for q in report.questions}
    for n, item_id in MC.items():
        truth = Counter(picks(s)[n] for s in range(30))
        q = by_item[item_id]
        assert Counter(r.choice for r in q.responses) == truth, item_id
        assert q.stats()["full"] == pytest.approx(truth[BANK.get(item_id).answer] / 30)
    card = by_item[CARDS[1]]
    first = card.concept_names[0]
    assert sum(r.concepts[first] == "contradicted" for r in card.responses) == len(SCRATCH_HOLDERS)
    assert sum(r.concepts[first] == "stated" for r in card.responses) == 30 - len(SCRATCH_HOLDERS)
    assert by_item[CARDS[2]].stats()["not_attempted"] == pytest.approx(1 / 30)


def test_reteach_ranks_the_planted_misconceptions_first(course):
    report = build(course, "concepts")
    reteach = report.reteach()
    planted = [BANK.get(MC[n]).mistakes[(BANK.get(MC[n]).answer + offset) % len(BANK.get(MC[n]).options)]
               for n, offset, _ in PLANTED]
    assert [m.name for m in reteach[:2]] == planted
    assert [len(m.students) for m in reteach[:3]] == [12, 8, 5]
    assert reteach[2].questions == [f"{CARDS[1]}-test"]
    assert all(m.items for m in reteach[:3]), "each misconception links to self-study items"
    assert not any(len(m.students) == 1 for m in reteach), "one student's slip is not a reteach topic"


def test_questions_everyone_gets_are_flagged(course):
    report = build(course, "concepts")
    untouched = [q for q in report.questions if q.item_id in CHOICES.values() and q.item_id not in MC.values()]
    assert untouched and all(report.verdict(q) == "everyone gets it" for q in untouched)
    planted = next(q for q in report.questions if q.item_id == MC[PLANTED[0][0]])
    assert report.discrimination(planted) is not None


def test_cli_writes_csv_and_a_page_that_hides_ids_when_anonymised(course, tmp_path):
    done = ftlab(course, "report", "concepts", "--csv", str(tmp_path / "q.csv"), "--html", str(tmp_path / "r.html"))
    assert "Reteach" in done.stdout
    rows = list(csv.DictReader(open(tmp_path / "q.csv")))
    assert len(rows) == len(CONCEPTS.recall + CONCEPTS.choices)
    page = (tmp_path / "r.html").read_text()
    assert "<script" not in page and "Content-Security-Policy" in page
    shared = to_html([build(course, "concepts")], anonymise=True)
    assert not any(f">s{s:02d}<" in shared for s in range(30))
    assert set(pseudonyms(["a", "b"]).values()) == {"Student 1", "Student 2"}


def test_unknown_assignment_names_the_choices(course):
    with pytest.raises(ReportError, match="concepts"):
        build(course, "nope")
    done = subprocess.run([sys.executable, "-m", "ftlab.cli", "course", "report", "strategy"], cwd=course,
                          capture_output=True, text=True, env=ENV)
    assert done.returncode != 0 and "the gradebook has: concepts" in done.stderr


@pytest.mark.browser
def test_page_renders_in_chromium_and_runs_no_student_html(course, tmp_path):
    """The HTML report in a real browser: every chart loads, a student's HTML stays text, nothing runs."""
    from playwright import sync_api

    page_file = tmp_path / "report.html"
    page_file.write_text(to_html([build(course, "concepts")]), encoding="utf-8")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.goto(page_file.as_uri())
            widths = page.evaluate("[...document.images].map(i => i.naturalWidth)")
            assert len(widths) == 3 and all(w > 100 for w in widths), widths
            assert page.title() == "Class report", "a student's markup ran"
            assert "onerror" in page.inner_text("body"), "the student's text is shown as text"
            SHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOT), full_page=True)
        finally:
            browser.close()


def test_review_lists_reach_the_students_self_study(course, tmp_path):
    """--assign-review writes a list for each student who showed a planted misconception; `ftlab revise --assigned`
    makes its items due with the reason, and a bad list is refused whole."""
    from ftlab.assessment.selfquiz.store import Store

    lists = tmp_path / "review"
    ftlab(course, "report", "concepts", "--assign-review", str(lists))
    holders = {f"s{s:02d}" for _, _, held in PLANTED for s in held} | {f"s{s:02d}" for s in SCRATCH_HOLDERS}
    assert {p.stem for p in lists.glob("*.toml")} == holders
    env = {**ENV, "FTLAB_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "ftlab.cli", "revise", "--learner", "s00", "--assigned",
                           str(lists / "s00.toml")], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and "due now" in done.stdout, done.stderr
    with Store(tmp_path / "data" / "progress" / "s00.sqlite3") as store:
        pulled = store.pulled()
    assert pulled and all("your instructor assigned it" in why for why in pulled.values())
    planted = BANK.get(MC[PLANTED[0][0]])
    assert any(planted.mistakes[(planted.answer + PLANTED[0][1]) % len(planted.options)] in why
               for why in pulled.values())
    bad = tmp_path / "bad.toml"
    bad.write_text('format = 1\n[[items]]\nid = "no-such-item"\nreason = "x"\n')
    done = subprocess.run([sys.executable, "-m", "ftlab.cli", "revise", "--learner", "s01", "--assigned", str(bad)],
                          capture_output=True, text=True, env=env)
    assert done.returncode != 0 and "no-such-item" in done.stderr
    s01 = tmp_path / "data" / "progress" / "s01.sqlite3"
    assert not s01.exists() or not Store(s01).pulled()
