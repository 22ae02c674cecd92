"""Hostile submissions seen by the instructor: a course from `ftlab course init`, graded by `ftlab course autograde`,
each submission opened in formgrader (Jupyter server on localhost) and its feedback page in headless Chromium.

The payloads try what a student would: set full marks through formgrader's API with the instructor's rights,
copy the private bank into the exchange through the contents API, from markdown (handlers, parser tricks,
`javascript:` links, raw cells, attachments), outputs (HTML, JavaScript, SVG, markdown, widgets, an image size
that nbconvert writes into the tag unquoted) and widget state.
None may run, no grade or file may change by viewing, the student's text stays visible, and formgrader still saves
the instructor's own score. A tampered notebook is graded as released and flagged.
"""
import base64
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from ftlab.assessment.course.assignments import ASSIGNMENTS
from ftlab.assessment.course.sandbox import Student, nbgrader, solutions, submission
from ftlab.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.sandbox]

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ENV = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
CONCEPTS = ASSIGNMENTS[0]

# What each payload does when it runs: leave a mark, give every grade of the viewed submission full marks, and
# copy the private bank into the exchange. Single quotes only, so it fits in any double-quoted attribute.
XSRF = "(document.cookie.match(/_xsrf=([^;]*)/)||[])[1]"
PAYLOAD = (
    "window.ftlabRan=(window.ftlabRan||0)+1;console.log('FTLAB-PAYLOAD-RAN');"
    "fetch('/formgrader/api/grades?submission_id='+location.pathname.split('/')[3]).then(r=>r.json())"
    ".then(gs=>gs.forEach(g=>fetch('/formgrader/api/grade/'+g.id,{method:'PUT',headers:{'X-CSRFToken':" + XSRF +
    "},body:JSON.stringify({manual_score:g.max_score})})));"
    "fetch('/api/contents/bank/concepts.toml?content=1').then(r=>r.json()).then(f=>fetch("
    "'/api/contents/exchange/bank-copy.txt',{method:'PUT',headers:{'X-XSRFToken':" + XSRF + ","
    "'Content-Type':'application/json'},body:JSON.stringify({type:'file',format:'text',content:f.content})}));"
)
MARKDOWN = [  # one markdown cell each: the cases, then new ones
    f'<img src=x onerror="{PAYLOAD}">',
    f'<svg onload="{PAYLOAD}"></svg>',
    f"<script>{PAYLOAD}</script>",
    f'<iframe onload="{PAYLOAD}"></iframe>',
    f'<details open ontoggle="{PAYLOAD}">open me</details>',
    f'<input autofocus onfocus="{PAYLOAD}">',
    f'<!--><img src=x onerror="{PAYLOAD}">-->',
    f'<a href="jav&#x61;script:{PAYLOAD}">a link</a> and [another](javascript:{PAYLOAD})',
    f'<meta http-equiv="refresh" content="0;url=javascript:{PAYLOAD}">',
    f"$\\href{{javascript:{PAYLOAD}}}{{x}}$",
    "A plain note with *emphasis*, `x < 3` and [a link](https://example.org).",
]
SVG = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{PAYLOAD}"><script>{PAYLOAD}</script></svg>'
OUTPUTS = f"""from IPython.display import HTML, SVG, Javascript, Markdown, Math, display
import ipywidgets
P = {PAYLOAD!r}
display(HTML('<img src=x onerror="' + P + '">'))
display(Javascript(P))
display(SVG({SVG!r}))
display(Markdown('<img src=x onerror="' + P + '">'))
display({{'text/html': '<script>' + P + '</script>'}}, raw=True)
display(Math(r'\\href{{javascript:' + P + '}}{{x}}'))
display(ipywidgets.HTML(value='<img src=x onerror="' + P + '">'))
import base64
W = "1 onerror=eval(atob('" + base64.b64encode(P.encode()).decode() + "'))"  # nbconvert writes width= unquoted
display({{'image/png': 'AAAA', 'text/plain': 'a picture'}}, metadata={{'image/png': {{'width': W}}}}, raw=True)
print('<img src=x onerror="' + P + '">')
raise ValueError('<img src=x onerror="' + P + '">')
"""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _wrong(keys: dict[str, str]) -> dict[str, str]:
    """Every choice answered with the same letter (mostly wrong): full marks would show."""
    from ftlab.assessment.course.keys import load_keys

    bank = load_keys(REPO / "quizzes").bank
    answers = {}
    for n, item_id in enumerate(CONCEPTS.choices, start=len(CONCEPTS.recall) + 1):
        item = bank.get(item_id)
        answers[item_id] = f"q{n} = {item.answer != 0}" if item.kind == "truefalse" else f"q{n} = 'A'"
    return {**keys, **answers}


def _markdown(nb):
    nb.cells += [nbformat.v4.new_markdown_cell(text) for text in MARKDOWN]
    raw = nbformat.v4.new_raw_cell(f'<img src=x onerror="{PAYLOAD}">', metadata={"raw_mimetype": "text/html"})
    attached = nbformat.v4.new_markdown_cell("![a picture](attachment:pic.svg)")
    attached.attachments = {"pic.svg": {"image/svg+xml": _b64(SVG), "text/html": _b64(f"<script>{PAYLOAD}</script>")}}
    nb.cells += [raw, attached]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"version_major": 2, "version_minor": 0,
                              "state": {"x": {"model_name": "HTMLModel", "model_module": "@jupyter-widgets/controls",
                                              "model_module_version": "2.0.0", "state": {
                                                  "value": f'</script><img src=x onerror="{PAYLOAD}">'}}}}}


def _outputs(nb):
    nb.cells.append(nbformat.v4.new_code_cell(OUTPUTS))


def _tampered(nb):
    """A test no longer graded, an answer cell made graded, the read-only setup cell made graded, a test deleted."""
    ids = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    ids[f"{CONCEPTS.choices[0]}-test"].metadata["nbgrader"]["grade"] = False
    ids[CONCEPTS.choices[1]].metadata["nbgrader"].update(grade=True, points=5.0)
    ids["concepts-imports"].metadata["nbgrader"].update(grade=True, points=10.0)
    nb.cells.remove(ids[f"{CONCEPTS.choices[2]}-test"])


def _hostile(nb):
    _markdown(nb)
    _outputs(nb)


HOSTILE = {"hostile": _hostile, "tampered": _tampered}  # two notebooks: each one costs seconds of grading


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _state(course: Path) -> dict:
    """Everything viewing could change: every grade and comment, the flags, the files in the exchange."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        grades = {(nb.student.id, g.name): (g.auto_score, g.manual_score, g.extra_credit, g.needs_manual_grade)
                  for nb in gb.notebook_submissions("concepts", "concepts") for g in nb.grades}
        comments = {(nb.student.id, c.name): c.manual_comment for nb in gb.notebook_submissions("concepts", "concepts")
                    for c in nb.comments}
        flagged = {nb.student.id: nb.flagged for nb in gb.notebook_submissions("concepts", "concepts")}
    return {"grades": grades, "comments": comments, "flagged": flagged,
            "exchange": sorted(str(p) for p in (course / "exchange").rglob("*"))}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """`ftlab course init`, generate, submit, `ftlab course autograde`, `nbgrader generate_feedback`."""
    course = tmp_path_factory.mktemp("hostile") / "course"
    main(["course", "init", str(course), "--bank", str(REPO / "quizzes" / "bank")])
    config = course / "nbgrader_config.py"  # variants off: every student answers the released questions as keyed
    config.write_text(re.sub(r"c\.CourseVariants\.assignments = .*", "c.CourseVariants.assignments = []",
                             config.read_text()))
    main(["course", "build", "--root", str(course)])
    nbgrader(course, "generate_assignment", "concepts", "--create")
    keys = solutions(course / "source" / "concepts" / "concepts.ipynb")
    released = course / "release" / "concepts" / "concepts.ipynb"
    for student, change in HOSTILE.items():
        nb = submission(released, Student(student, keys if student == "tampered" else _wrong(keys)))
        change(nb)
        path = course / "submitted" / student / "concepts" / "concepts.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(nb, path)
    done = subprocess.run([sys.executable, "-m", "ftlab.cli", "course", "autograde", "concepts", "--jobs", "1"],
                          cwd=course, capture_output=True, text=True, env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    nbgrader(course, "generate_feedback", "concepts")
    return course, done.stdout


def test_tampered_notebook_is_graded_as_released_and_flagged(graded, capsys):
    course, table = graded
    state = _state(course)
    scores = {s: sum(v[0] for (who, _), v in state["grades"].items() if who == s) for s in state["flagged"]}
    assert scores["tampered"] == 11.0  # graded on its right answers, every released test counted
    assert scores["hostile"] < 11.0 and state["flagged"] == {"tampered": True, "hostile": True}
    row = next(line for line in table.splitlines() if line.startswith("tampered"))
    assert row.count("TamperedCell") == 3 and "RestoredCells in the notebook" in row, row
    assert "ActiveContent" in next(line for line in table.splitlines() if line.startswith("hostile"))
    main(["course", "autograde", "concepts", "--root", str(course)])  # again: nothing new to grade
    again = capsys.readouterr().out
    assert "skipped 2 of 2 submissions, already autograded" in again and "--force" in again
    assert "student" not in again  # no empty table


def test_no_student_content_runs_in_the_instructors_browser(graded, tmp_path):
    from playwright import sync_api  # the browser mark skips without Chromium (and fails in CI)

    course, _ = graded
    before = _state(course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        ids = {nb.student.id: nb.id for nb in gb.notebook_submissions("concepts", "concepts")}
    token, port = secrets.token_hex(16), _free_port()
    env = {**ENV, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
        name: False for name in ("jupyterlab", "jupyter_lsp", "notebook", "notebook_shim", "jupyter_server_terminals",
                                 "nbgrader.server_extensions.assignment_list", "nbgrader.server_extensions.course_list",
                                 "nbgrader.server_extensions.validate_assignment")}}}))  # formgrader only: starts faster
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
         "--ServerApp.allow_root=True", f"--ServerApp.root_dir={course}"],
        cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.2)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                seen, console = [], []
                page.on("request", lambda r: seen.append((r.method, r.url)))
                page.on("console", lambda m: console.append(m.text))
                page.on("dialog", lambda d: d.dismiss())
                page.goto(f"{url}/formgrader?token={token}")  # logs in: the instructor's cookie
                shown = {}
                for student in HOSTILE:
                    page.goto(f"{url}/formgrader/submissions/{ids[student]}/")
                    page.wait_for_load_state("networkidle")
                    page.wait_for_timeout(300)
                    assert page.evaluate("window.ftlabRan") is None, student
                    shown[student] = page.inner_text("#notebook")
                    assert page.locator("a[href^='javascript' i]").count() == 0
                feedback = course / "feedback" / "hostile" / "concepts" / "concepts.html"
                page.goto(feedback.as_uri())
                page.wait_for_timeout(300)
                assert page.evaluate("window.ftlabRan") is None
                assert not [m for m in console if "FTLAB-PAYLOAD-RAN" in m]
                hits = [(m, u) for m, u in seen if "/api/contents" in u or (m != "GET" and "/api/grade/" in u)]
                assert not hits
                assert _state(course) == before  # viewing changed no grade, comment, flag or file
                assert "onerror" in shown["hostile"] and "ontoggle" in shown["hostile"]  # the text is visible
                assert "Score: 1 of 1." in shown["tampered"] and "TamperedCell in concepts-imports" in shown["tampered"]

                # formgrader still works for the instructor: a typed score is saved, next goes on
                page.goto(f"{url}/formgrader/submissions/{ids['tampered']}/")
                box = page.locator("input.score").first
                box.fill("0.5")
                box.press("Tab")
                deadline = time.monotonic() + 15
                while _state(course)["grades"] == before["grades"] and time.monotonic() < deadline:
                    time.sleep(0.2)  # formgrader saves the typed score in the background
                page.goto(f"{url}/formgrader/submissions/{ids['tampered']}/next")
                assert "/formgrader/" in page.url and page.url != f"{url}/formgrader/submissions/{ids['tampered']}/"
            finally:
                browser.close()
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    after = _state(course)
    changed = {k for k in after["grades"] if after["grades"][k] != before["grades"][k]}
    assert len(changed) == 1 and next(iter(changed))[0] == "tampered"
    assert after["grades"][next(iter(changed))][1] == 0.5
