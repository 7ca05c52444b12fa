"""Render an audit or probe result as one self-contained HTML file, Markdown and JSON.

A :class:`Report` is plain data: plain-language findings first, then sections of text, tables
(:class:`Table`, a DataFrame) and plots (:class:`Figure`, a matplotlib figure), then provenance
and a checklist for human review. :func:`write_report` renders the same content three ways:

- ``<name>.html``: one file, CSS inline and plots embedded as base64 PNG (opens offline);
- ``<name>.md``: plots written as PNG files in ``<name>_figures/`` beside it;
- ``<name>.json``: findings, tables as records, figure references, provenance and ``data``.

Example::

    from matplotlib.figure import Figure as MplFigure
    fig = MplFigure(figsize=(5, 3)); fig.subplots().bar(["a", "b"], [0.8, 0.6])
    report = Report(
        title="Bias audit",
        findings=["Recall of 'anger' is 0.21 lower for dialect=aa than overall."],
        sections=[Section("Recall", tables=[Table("By group", frame)], figures=[Figure("Recall", fig)])],
        provenance={"input": "scored.parquet", "rows": 10_000},
        checklist=["Are the groups representative of the population the model is used on?"],
    )
    paths = write_report(report, "reports/audit")   # {"html": ..., "md": ..., "json": ...}

Every file is written atomically with :func:`tonecls.io.atomic_write` (a temporary sibling,
then ``os.replace``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tonecls import __version__
from tonecls._json import flat_frame, frame_records, to_jsonable
from tonecls.errors import InputError

__all__ = ["Figure", "Report", "Section", "Table", "report_target", "to_jsonable", "write_report"]

_FIGURE_DPI = 110
_TEMPLATES = Path(__file__).resolve().parents[1] / "resources" / "templates"


@dataclass
class Table:
    """A titled table; ``frame``'s index is kept as leading columns when it is meaningful.

    Cells may hold numbers, strings or ``None``/NaN (shown as "–"); a string cell such as
    ``"undefined: no positive examples"`` is shown as is. ``collapsed`` tables are folded
    (HTML ``<details>``) so that a long report reads at a glance.
    """

    title: str
    frame: pd.DataFrame
    note: str = ""
    collapsed: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.frame, pd.DataFrame):
            raise TypeError(f"Table.frame must be a pandas DataFrame, got {type(self.frame).__name__}")


@dataclass
class Figure:
    """A titled matplotlib figure (create it with ``matplotlib.figure.Figure`` or pyplot);
    ``collapsed`` figures are folded in the HTML (``<details>``)."""

    title: str
    figure: Any
    caption: str = ""
    collapsed: bool = False

    def __post_init__(self) -> None:
        if not hasattr(self.figure, "savefig"):
            raise TypeError(
                f"Figure.figure must be a matplotlib Figure, got {type(self.figure).__name__}"
            )


@dataclass
class Section:
    """A titled part of a report: paragraphs of text (blank-line separated), tables, figures."""

    title: str
    text: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    subsections: list[Section] = field(default_factory=list)


@dataclass
class Report:
    """Everything a report shows; ``data`` is extra machine-readable content for the JSON only.

    ``verdict`` is the one line a reader sees first (e.g. "no gap above 0.05 survives the
    correction"); ``findings`` follow it.
    """

    title: str
    findings: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    checklist: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    verdict: str = ""


def _format_cell(value: Any) -> str:
    """A cell as display text: floats to 3 decimals, missing values as an en dash."""
    value = to_jsonable(value)
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != 0 and abs(value) < 0.001:
            return f"{value:.2g}"
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def _table_view(table: Table) -> dict[str, Any]:
    flat = flat_frame(table.frame)
    rows = [[_format_cell(v) for v in row] for row in flat.itertuples(index=False, name=None)]
    # per cell: numbers right-aligned; short text kept on one line
    classes = [[("num" if _is_number(v) else "nw" if len(text) <= 24 else "")
                for v, text in zip(row, texts)]
               for row, texts in zip(flat.itertuples(index=False, name=None), rows)]
    numeric = [_numeric_column(flat[c]) for c in flat.columns]
    return {"title": table.title, "note": table.note, "columns": list(flat.columns),
            "rows": rows, "classes": classes, "numeric": numeric, "collapsed": table.collapsed}


def _numeric_column(column: pd.Series) -> bool:
    """Numbers, possibly with missing or "undefined ..." cells (right-aligned in Markdown)."""
    values = [v for v in column if to_jsonable(v) is not None]
    return bool(values) and all(_is_number(v) or str(v).startswith("undefined") for v in values) \
        and any(_is_number(v) for v in values)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text or "") if p.strip()]


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:50] or "figure"


def _png_bytes(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_FIGURE_DPI, bbox_inches="tight")
    return buffer.getvalue()


# --- rendering ---------------------------------------------------------------------------


@dataclass
class _RenderedFigure:
    title: str
    caption: str
    png: bytes
    file: str  # relative path of the PNG written beside the Markdown
    collapsed: bool = False

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def _section_views(sections: list[Section], figures_dir: str, counter: list[int],
                   prefix: str = "") -> list[dict[str, Any]]:
    """Sections as template-ready dicts; figures rendered to PNG once, numbered in order."""
    views = []
    for number, section in enumerate(sections, start=1):
        label = f"{prefix}{number}"
        rendered = []
        for figure in section.figures:
            counter[0] += 1
            file = f"{figures_dir}/{counter[0]:02d}-{_slug(figure.title)}.png"
            rendered.append(_RenderedFigure(figure.title, figure.caption,
                                            _png_bytes(figure.figure), file, figure.collapsed))
        views.append({
            "number": label,
            "anchor": "s" + label.replace(".", "-"),
            "title": section.title,
            "paragraphs": _paragraphs(section.text),
            "text": section.text,
            "tables": [_table_view(t) for t in section.tables],
            "table_records": [
                {"title": t.title, "note": t.note, "columns": list(flat_frame(t.frame).columns),
                 "records": frame_records(t.frame)} for t in section.tables
            ],
            "figures": rendered,
            "subsections": _section_views(section.subsections, figures_dir, counter, label + "."),
        })
    return views


def _environment(autoescape: bool):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md_cell"] = _markdown_cell
    env.filters["md_text"] = _markdown_text
    return env


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_<>\[\]#|~])")


def _markdown_cell(text: Any) -> str:
    """A value as the literal text of a Markdown table cell (markup and HTML neutralised)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\r", " ").replace("\n", " ")


def _markdown_text(text: Any) -> str:
    """A value as literal Markdown text: characters Markdown would read as markup or HTML are
    escaped, and so is a line start that would make a list, a quote or a heading."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
    escaped = re.sub(r"(?m)^(\s*)([-+=])", r"\1\\\2", escaped)
    return re.sub(r"(?m)^(\s*\d+)([.)])", r"\1\\\2", escaped)


def _provenance_rows(provenance: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key, value in provenance.items():
        value = to_jsonable(value)
        if isinstance(value, (dict, list)):
            text = json.dumps(value, ensure_ascii=False)
        else:
            text = _format_cell(value) if not isinstance(value, str) else value
        rows.append((str(key), text))
    return rows


def _atomic_write(path: Path, content: bytes | str) -> None:
    from tonecls.io import atomic_write

    with atomic_write(path, "wb" if isinstance(content, bytes) else "w") as handle:
        handle.write(content)


def report_target(output: str | os.PathLike) -> tuple[Path, str]:
    """``(out_dir, name)`` of a report path given without extension (``reports/audit``:
    ``reports/audit.html``, ``.md`` and ``.json`` follow); an extension is an error."""
    target = Path(output)
    if not target.name or target.suffix in (".html", ".md", ".json"):
        raise InputError(f"-o takes a report path without extension (e.g. reports/audit), got {str(output)!r}")
    return target.parent, target.name


def write_report(report: Report, out_dir: str | os.PathLike, name: str = "report") -> dict[str, Path]:
    """Write ``report`` as ``<name>.html``, ``<name>.md`` (+ ``<name>_figures/*.png``) and
    ``<name>.json`` in ``out_dir`` (created if needed), each atomically.

    Returns ``{"html": path, "md": path, "json": path, "figures": dir}`` (``figures`` only
    when the report has plots).
    """
    if not isinstance(report, Report):
        raise TypeError(f"write_report expects a Report, got {type(report).__name__}")
    if not name or Path(name).name != name:
        raise ValueError(f"name must be a plain file stem without directories, got {name!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    figures_dir = f"{name}_figures"
    sections = _section_views(report.sections, figures_dir, counter=[0])
    all_figures = list(_iter_figures(sections))
    generated = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    context = {
        "title": report.title,
        "verdict": report.verdict,
        "findings": report.findings,
        "sections": sections,
        "provenance": _provenance_rows(report.provenance),
        "checklist": report.checklist,
        "version": __version__,
        "generated": generated,
    }

    paths: dict[str, Path] = {}
    if all_figures:
        (out_dir / figures_dir).mkdir(exist_ok=True)
        for fig in all_figures:
            _atomic_write(out_dir / fig.file, fig.png)
        paths["figures"] = out_dir / figures_dir
    # figures of an earlier report of the same name that this one no longer has
    current = {fig.file.rsplit("/", 1)[-1] for fig in all_figures}
    for stale in (out_dir / figures_dir).glob("[0-9][0-9]-*.png"):
        if stale.name not in current:
            stale.unlink()

    html = _environment(autoescape=True).get_template("report.html.j2").render(**context)
    markdown = _environment(autoescape=False).get_template("report.md.j2").render(**context)
    document = {
        "title": report.title,
        "generated": generated,
        "tonecls_version": __version__,
        "verdict": report.verdict,
        "findings": list(report.findings),
        "sections": [_section_json(s) for s in sections],
        "provenance": to_jsonable(report.provenance),
        "checklist": list(report.checklist),
        "data": to_jsonable(report.data),
    }
    for kind, text in (("html", html), ("md", markdown),
                       ("json", json.dumps(document, indent=2, ensure_ascii=False) + "\n")):
        path = out_dir / f"{name}.{kind}"
        _atomic_write(path, text)
        paths[kind] = path
    return paths


def _iter_figures(sections: list[dict[str, Any]]):
    for section in sections:
        yield from section["figures"]
        yield from _iter_figures(section["subsections"])


def _section_json(section: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": section["title"],
        "text": section["text"],
        "tables": section["table_records"],
        "figures": [{"title": f.title, "caption": f.caption, "file": f.file}
                    for f in section["figures"]],
        "subsections": [_section_json(s) for s in section["subsections"]],
    }
