"""What InertContent leaves of hostile cells, and the grader's own inserted cells told apart from a student's."""
import base64
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from ftlab.assessment.course.assignments import BY_NAME
from ftlab.assessment.course.build import source_path
from ftlab.assessment.course.grader import GradeCells, InsertStateDumps
from ftlab.assessment.course.inert import InertContent, markdown_risk, render
from ftlab.assessment.course.restore import grade_id

QUIZZES = Path(__file__).resolve().parents[3] / "quizzes"

JS = "alert(document.cookie)"


@pytest.mark.parametrize("markdown", [
    f'<img src=x onerror="{JS}">', f'<img src="x" onerror="{JS}">', f"<script>{JS}</script>",
    f"<svg onload={JS}>", f'<iframe src="https://example.org"></iframe>', f'<details open ontoggle="{JS}">x</details>',
    f'<!--><img src=x onerror="{JS}">-->', f"[click](javascript:{JS})", f'<a href="jav&#x61;script:{JS}">x</a>',
    f'<a href=" java\tscript:{JS}">x</a>', f'<A HREF="javascript:{JS}">x</A>', '<style>body{display:none}</style>',
    f'<meta http-equiv="refresh" content="0;url=javascript:{JS}">', f"$\\href{{javascript:{JS}}}{{x}}$",
    '<form action="/formgrader/api/grade/1"><button>go</button></form>', "![missing](attachment:gone.png)",
])
def test_active_markdown_is_shown_as_text(markdown):
    assert markdown_risk(markdown)
    cell = nbformat.v4.new_markdown_cell(markdown)
    assert InertContent().clean(cell)
    assert markdown_risk(cell.source) is None and markdown in cell.source  # inert, every character still there
    assert "could run script" in render(cell.source)


@pytest.mark.parametrize("markdown", [
    "# Q1\n\nPlain *text*, `x < 3 and y > 2`, a [link](https://example.org), an ![image](data:image/png;base64,AA==)",
    "| a | b |\n|:-|-:|\n| 1 | 2 |", "<b>bold</b>, <i>italic</i>, <sub>2</sub><br>", "```python\nprint('<script>')\n```",
    "$\\frac{a}{b}$ and $$x^2$$",
])
def test_plain_markdown_is_left_alone(markdown):
    cell = nbformat.v4.new_markdown_cell(markdown)
    assert InertContent().clean(cell) == [] and cell.source == markdown


def test_outputs_keep_text_and_pictures_only():
    safe = nbformat.v4.new_output("display_data", data={"text/html": "<b>table</b>", "text/plain": "table"})
    html = nbformat.v4.new_output("display_data", data={"text/html": f'<img src=x onerror="{JS}">'})
    script = nbformat.v4.new_output("display_data", data={"application/javascript": JS, "text/plain": "<JS>"})
    svg = nbformat.v4.new_output("display_data", data={"image/svg+xml": f"<svg onload='{JS}'/>", "image/png": "AA=="})
    widget = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "HTML(value='...')"})
    sized = nbformat.v4.new_output("display_data", data={"image/png": "AA=="}, metadata={"image/png": {
        "width": f"1 onerror={JS}", "height": 20}})  # nbconvert writes width= into the tag unquoted
    cell = nbformat.v4.new_code_cell("", outputs=[safe, html, script, svg, widget, sized])
    reasons = InertContent().clean(cell)
    assert len(reasons) == 4  # the HTML handler, the JavaScript, the SVG handler, the width
    assert [sorted(o.data) for o in cell.outputs] == [["text/html", "text/plain"], ["text/plain"], ["text/plain"],
                                                     ["image/png"], ["text/plain"], ["image/png"]]
    assert sized.metadata == {"image/png": {"height": 20}}
    assert "was removed" in cell.outputs[1].data["text/plain"]
    raw = nbformat.v4.new_raw_cell(f"<script>{JS}</script>", metadata={"raw_mimetype": "text/html"})
    pictured = nbformat.v4.new_markdown_cell("![p](attachment:p.svg)")
    pictured.attachments = {"p.svg": {"image/svg+xml": base64.b64encode(f"<svg onload='{JS}'/>".encode()).decode()}}
    assert InertContent().clean(raw) and raw.cell_type == "markdown" and JS in raw.source
    assert InertContent().clean(pictured) and "attachments" in pictured and not pictured.attachments
    assert markdown_risk(pictured.source) is None


def test_a_student_cell_tagged_like_the_dump_cell_stays():
    """The grader removes only the cells it inserted in this run, never a submitted cell that looks like one."""
    config = Config({"CourseDirectory": {"root": str(QUIZZES)}})
    nb = nbformat.read(source_path(QUIZZES, BY_NAME["freezing"]), as_version=4)
    answer = BY_NAME["freezing"].exercises[0]
    at = [grade_id(c) for c in nb.cells].index(answer) + 1
    forged = nbformat.v4.new_code_cell("model.eval()", metadata={"ftlab": {"dump": answer}})
    nb.cells.insert(at, forged)
    count = len(nb.cells)
    resources = {"nbgrader": {"assignment": "freezing"}}
    nb, resources = InsertStateDumps(config=config).preprocess(nb, resources)
    assert len(nb.cells) == count + len(BY_NAME["freezing"].exercises) + 1  # a dump after each answer, then the seal
    nb, _ = GradeCells(config=config).preprocess(nb, resources)
    assert len(nb.cells) == count and nb.cells[at] is forged
