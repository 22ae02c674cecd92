"""Make student content inert before an instructor's browser renders it (formgrader, JupyterLab, feedback).

formgrader shows a submission as nbconvert HTML with markdown rendered raw (its template skips
`HTMLExporter.sanitize_html`), in a page that holds the instructor's rights. `InertContent` runs last in
autograde and rewrites the autograded notebook every such view is made from: a markdown or raw cell whose
rendered HTML is not plain markup (a script, an event handler, an iframe, a `javascript:` link, ...) is
shown as text in a fenced block under a note; outputs keep only text and raster images; attachments only
raster images; the notebook's widget state is dropped. What was removed is flagged in the gradebook, and every
flag of the grading (tampering, timeouts, active content) is listed, as text, in a first cell formgrader shows.
"""
from __future__ import annotations

import base64
import html
import json
import re

from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_markdown_cell
from nbgrader.preprocessors import NbGraderPreprocessor

from ftlab.assessment.course.restore import flag_in_gradebook, flag_place, grade_id, sanitize_flags

# What plain markup may hold: the tags and attributes markdown itself produces, plus harmless formatting.
SAFE_TAGS = frozenset(
    "a abbr b blockquote br caption code col colgroup dd del details div dl dt em figcaption figure h1 h2 h3 h4 h5 "
    "h6 hr i img ins kbd li mark ol p pre q s samp small span strong sub summary sup table tbody td tfoot th thead "
    "tr u ul".split())
SAFE_ATTRIBUTES = frozenset("alt align border class colspan height href id rowspan src start title width".split())
URL_ATTRIBUTES = frozenset({"href", "src"})
SAFE_STYLE = re.compile(r"\s*text-align\s*:\s*(left|right|center)\s*;?\s*")  # markdown tables' column alignment
# A tag in the only form accepted: lower-case name, double-quoted values; anything else is not plain markup.
TAG = re.compile(r'<(/?)([a-z][a-z0-9]*)((?:\s+[a-z-]+(?:="[^"<]*")?)*)\s*/?>')
ATTRIBUTE = re.compile(r'([a-z-]+)(?:="([^"<]*)")?')
SAFE_URL = re.compile(r"(https?://|mailto:|#|data:image/(png|jpeg|gif|webp);base64,)|[^:]*([/?#]|$)", re.I)
# MathJax commands that reach URLs, styles or the page (formgrader typesets $...$ with MathJax).
TEX_ACTIVE = re.compile(r"\\(href|url|class|cssId|style|unicode|require|html|data)\b")
KEPT_OUTPUTS = ("text/plain", "image/png", "image/jpeg", "image/gif")  # shown as text or pixels only
CHECKED_OUTPUTS = {"text/html": False, "text/markdown": True}  # kept when plain markup; True: render first
ACTIVE_HINT = re.compile(r"<\s*(script|iframe|object|embed|foreignobject)|\bon[a-z]+\s*=|javascript:", re.I)


def active(markup: str) -> str | None:
    """Why this HTML is not plain markup (the first thing found), or None when every tag in it is."""
    pos = 0
    while (start := markup.find("<", pos)) >= 0:
        tag = TAG.match(markup, start)
        if tag is None:
            return "markup that is not a plain tag (a comment, an odd tag or attribute, unquoted values)"
        name = tag.group(2)
        if name not in SAFE_TAGS:
            return f"a `<{name}>` element"
        for attr, value in ATTRIBUTE.findall(tag.group(3)):
            if attr == "style" and SAFE_STYLE.fullmatch(html.unescape(value)):
                continue
            if attr not in SAFE_ATTRIBUTES:
                return f"a `{attr}` attribute on `<{name}>`"
            url = re.sub(r"[\x00-\x20]", "", html.unescape(value))  # as a browser reads it: entities, no blanks
            if attr in URL_ATTRIBUTES and not SAFE_URL.match(url):
                scheme = re.match(r"[a-z][a-z0-9+.-]*", url, re.I)
                return f"a `{attr}` link to a `{scheme.group(0).lower() if scheme else 'strange'}:` URL"
        pos = tag.end()
    return None


def render(source: str, attachments: dict | None = None) -> str:
    """Markdown as nbconvert's HTMLExporter (formgrader's, feedback's) renders it."""
    renderer = IPythonRenderer(escape=False, attachments=attachments or {})
    return MarkdownWithMath(renderer=renderer).render(source)


def markup_risk(markup: str) -> str | None:
    """Why this HTML is not inert in a page that typesets with MathJax (formgrader's), or None."""
    typeset = html.unescape(re.sub(r"<(pre|code)\b.*?</\1>", "", markup, flags=re.S))  # what MathJax reads
    tex = TEX_ACTIVE.search(typeset)
    return active(markup) or (f"the MathJax command `{tex.group(0)}`" if tex else None)


def markdown_risk(source: str, attachments: dict | None = None) -> str | None:
    """Why this markdown would not render as inert HTML, or None."""
    try:
        return markup_risk(render(source, attachments))
    except Exception as error:  # nbconvert's own failure (a missing attachment) would break the page too
        return f"markdown that nbconvert cannot render ({type(error).__name__})"


def fenced(text: str) -> str:
    """Text in a fenced code block longer than any backtick run in it: every character shows, none is markup."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text}\n{fence}"


def as_text(source: str, reason: str) -> str:
    """A cell's source shown as text under a note saying why (`reason` holds no student text)."""
    note = f"**ftlab:** this cell is shown as text: it held {reason}, which could run script in a browser."
    text = f"{note}\n\n{fenced(source)}"
    return text if markdown_risk(text) is None else f"{note}\n\n(The cell's text could not be shown safely.)"


def note(flags: list[dict], with_id: bool) -> NotebookNode:
    """A first cell telling whoever views the autograded notebook what grading flagged, as inert text."""
    lines = "\n".join(f"{flag['reason']} in {flag_place(flag)}: {flag['detail']}" for flag in flags)
    cell = new_markdown_cell(f"**ftlab flagged this submission** (the autograde summary lists the same):\n\n"
                             f"{fenced(lines)}")
    if not with_id:
        cell.pop("id", None)
    return cell


class InertContent(NbGraderPreprocessor):
    """The last autograde step: nothing in the autograded notebook can run script where it is viewed."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        found = [{"cell": index, "grade_id": grade_id(cell), "reason": "ActiveContent", "detail": "; ".join(reasons)}
                 for index, cell in enumerate(nb.cells) if (reasons := self.clean(cell))]
        if nb.metadata.pop("widgets", None):
            found.append({"cell": None, "grade_id": None, "reason": "ActiveContent",
                          "detail": "widget state in the notebook's metadata (removed)"})
        if found:
            flag_in_gradebook(resources["nbgrader"])
        flags = [*sanitize_flags(nb), *found]
        if flags:
            nb.metadata["ftlab"] = {**nb.metadata.get("ftlab", {}), "flags": flags}
            nb.cells.insert(0, note(flags, with_id=(nb.nbformat, nb.nbformat_minor) >= (4, 5)))
        return nb, resources

    def clean(self, cell: NotebookNode) -> list[str]:
        """Make one cell inert in place; what was active in it."""
        reasons = []
        attachments = cell.get("attachments") or {}
        for name, bundle in list(attachments.items()):
            for mime in sorted(set(bundle) - set(KEPT_OUTPUTS)):
                if ACTIVE_HINT.search(_decoded(bundle.pop(mime))):
                    reasons.append(f"script in a {mime} attachment (removed)")
            if not bundle:
                del attachments[name]
        if cell.cell_type == "raw":
            reason = markup_risk(cell.source)
            if reason:
                cell.cell_type, cell.source = "markdown", as_text(cell.source, reason)
                cell.metadata.pop("format", None)
                cell.metadata.pop("raw_mimetype", None)
                reasons.append(reason)
        elif cell.cell_type == "markdown":
            reason = markdown_risk(cell.source, cell.get("attachments"))
            if reason:
                cell.source = as_text(cell.source, reason)
                reasons.append(reason)
        elif cell.cell_type == "code":
            for output in cell.get("outputs", []):
                reasons += self.clean_output(output)
        return reasons

    @staticmethod
    def clean_output(output: NotebookNode) -> list[str]:
        """Keep an output's text and raster images, and HTML or markdown only when it is plain markup."""
        data = output.get("data")
        if not data:
            return []
        reasons, removed = [], []
        for mime in list(data):
            if mime in KEPT_OUTPUTS:
                continue
            text = data[mime] if isinstance(data[mime], str) else json.dumps(data[mime])
            if mime in CHECKED_OUTPUTS:
                reason = (markdown_risk if CHECKED_OUTPUTS[mime] else markup_risk)(text)
                if reason is None:
                    continue
                reasons.append(f"{reason} in a {mime} output (removed)")
            elif ACTIVE_HINT.search(text) or mime in ("application/javascript", "text/javascript"):
                reasons.append(f"a {mime} output (removed)")
            removed.append(mime)
            del data[mime]
        if removed and not data:  # nothing left to show: say what went
            data["text/plain"] = f"[an output of type {', '.join(removed)} was removed: only text and images are shown]"
        if _odd_metadata(output):  # nbconvert writes an image's width and height into the tag unquoted
            reasons.append("output metadata other than a number for width or height (removed)")
        return reasons


def _odd_metadata(output: NotebookNode) -> bool:
    """Keep of an output's metadata only numeric image sizes; True when what went looked like script."""
    meta = output.get("metadata") or {}
    kept = {mime: {key: value for key, value in sizes.items() if key in ("width", "height")
                   and isinstance(value, (int, float)) and not isinstance(value, bool)}
            for mime, sizes in meta.items() if mime in KEPT_OUTPUTS and isinstance(sizes, dict)}
    kept = {mime: sizes for mime, sizes in kept.items() if sizes}
    output["metadata"] = kept
    return ACTIVE_HINT.search(json.dumps(meta)) is not None


def _decoded(payload) -> str:
    """An attachment's content as given and with base64 undone, to look for script in either."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    try:
        return text + "\n" + base64.b64decode(text).decode("utf-8", "replace")
    except ValueError:
        return text
