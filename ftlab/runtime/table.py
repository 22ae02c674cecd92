"""A small table that prints as text in a terminal and as HTML in a notebook."""
from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(repr=False)
class Table:
    columns: list[str]
    rows: list[list]
    title: str = ""

    def _cells(self) -> list[list[str]]:
        return [[f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else
                 f"{v:.4g}" if isinstance(v, float) else str(v) for v in row] for row in self.rows]

    def __str__(self) -> str:
        cells = self._cells()
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]
        line = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()
        out = [self.title] if self.title else []
        out += [line(self.columns), line(["-" * w for w in widths])] + [line(r) for r in cells]
        return "\n".join(out)

    __repr__ = __str__  # the REPL shows the table, not the dataclass fields

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in self._cells())
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def column(self, name: str) -> list:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]
