"""A griffe extension for the API reference: reStructuredText bits of NumPy-style docstrings as Markdown.

- RST "simple tables" (``====  ====`` borders, as in ``solve_ivp``'s method table) become Markdown
  tables; a row whose first column is blank continues the row above.
- An ``Example`` section (singular) is read as NumPy's ``Examples``, so its doctest renders as code.
- A ``Methods`` section in a *function's* docstring (NumPy style reserves it for a class's methods,
  so griffe would list the table's lines as functions) is retitled ``Available methods``, which griffe
  renders as a titled block like "Differences from SciPy".

The docstrings themselves stay as they are (they are read with ``help()`` too).
"""

from __future__ import annotations

import re

import griffe

_BORDER = re.compile(r"^ *=+( +=+)+ *$")


def _spans(border: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in re.finditer(r"=+", border)]


def _split(line: str, spans: list[tuple[int, int]]) -> list[str]:
    cells = []
    for i, (start, _) in enumerate(spans):
        end = spans[i + 1][0] if i + 1 < len(spans) else len(line)
        cells.append(line[start:end].strip())
    return cells


def _md_cell(text: str) -> str:
    return text.replace("``", "`").replace("|", "\\|")


def rst_tables_to_markdown(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        if _BORDER.match(lines[i]) and i + 2 < len(lines) and _BORDER.match(lines[i + 2]):
            spans = _spans(lines[i])
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            header = _split(lines[i + 1], spans)
            rows: list[list[str]] = []
            j = i + 3
            while j < len(lines) and not _BORDER.match(lines[j]):
                cells = _split(lines[j], spans)
                if rows and not cells[0]:
                    rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], cells, strict=True)]
                elif any(cells):
                    rows.append(cells)
                j += 1
            out += [indent + "| " + " | ".join(_md_cell(c) for c in header) + " |",
                    indent + "|" + " --- |" * len(header)]
            out += [indent + "| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            i = j + 1
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def _retitle_methods(text: str) -> str:
    return re.sub(r"^Methods\n-------(\n)", r"Available methods\n-----------------\1", text, flags=re.M)


class RstToMarkdown(griffe.Extension):
    """Rewrite each docstring's RST tables (and a function's ``Methods`` section) before it is parsed."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is None:
            return
        value = obj.docstring.value
        if "==" in value:
            value = rst_tables_to_markdown(value)
        value = re.sub(r"^Example\n-------$", "Examples\n--------", value, flags=re.M)
        if obj.is_function and "Methods\n-------" in value:
            value = _retitle_methods(value)
        obj.docstring.value = value
