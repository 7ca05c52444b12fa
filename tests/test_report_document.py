"""Reports (tonecls.report.document): the three renderings carry the same content, HTML is
self-contained, figures are written beside the Markdown."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure as MplFigure

from tonecls.report import Figure, Report, Section, Table, write_report


class _Collector(HTMLParser):
    """Collects tags, attributes and text; fails on unbalanced section/table tags."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.imgs: list[dict[str, str]] = []
        self.urls: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self.void = {"meta", "img", "input", "br", "hr", "link"}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(attrs)
        for key in ("src", "href"):
            if key in attrs:
                self.urls.append(attrs[key])
        if tag not in self.void:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>, open: {self.stack[-3:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def _figure(values):
    fig = MplFigure(figsize=(4, 3))
    fig.subplots().bar(["a", "b"], values)
    return fig


@pytest.fixture
def report():
    frame = pd.DataFrame(
        {
            "recall": [0.8, np.float64(0.6), np.nan],
            "n": np.array([100, 20_000, 3]),
            "note": ["", "undefined: no positive examples of 'anger' in group X", "<b>x|y</b>"],
        },
        index=pd.Index(["g1", "g2", "g3"], name="group"),
    )
    return Report(
        title="Bias <audit> & co",
        findings=["Recall of 'anger' is 0.21 lower (95% CI 0.12–0.30) for dialect=aa than overall."],
        sections=[
            Section(
                "Recall",
                text="First paragraph.\n\nSecond paragraph.",
                tables=[Table("By group", frame, note="n<30 marked")],
                figures=[Figure("Recall bars", _figure([0.8, 0.6]), caption="95% CIs")],
                subsections=[Section("Detail", figures=[Figure("Other", _figure([1, 2]))])],
            )
        ],
        provenance={"input": "scored.csv", "rows": 12_345, "excluded": {"empty": 3}},
        checklist=["Are the groups representative?"],
        data={"nan": float("nan"), "arr": np.arange(3), "int": np.int64(4)},
    )


def test_writes_three_files_atomically(tmp_path, report):
    paths = write_report(report, tmp_path / "out", name="audit")
    assert {paths["html"].name, paths["md"].name, paths["json"].name} == {
        "audit.html", "audit.md", "audit.json"}
    assert all(p.exists() for p in paths.values())
    assert not list((tmp_path / "out").rglob("*.partial"))


def test_html_is_self_contained_and_escaped(tmp_path, report):
    html = write_report(report, tmp_path)["html"].read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    # every image embedded; no external reference anywhere in the document
    assert len(parser.imgs) == 2
    assert all(img["src"].startswith("data:image/png;base64,") for img in parser.imgs)
    assert all(url.startswith(("data:", "#")) for url in parser.urls)
    assert not re.search(r"https?://", html)
    assert "<link" not in html and "<script" not in html
    # user text is escaped, never interpreted as markup
    assert "<b>" not in html and "&lt;b&gt;x|y&lt;/b&gt;" in html
    assert "Bias &lt;audit&gt; &amp; co" in html
    text = "".join(parser.text)
    assert "Recall of 'anger' is 0.21 lower" in text or "Recall of &#39;anger&#39;" in html
    assert "undefined: no positive examples" in text
    order = ['id="findings"', "<caption>By group", 'id="provenance"', 'id="checklist"']
    assert [html.index(marker) for marker in order] == sorted(html.index(m) for m in order)


def test_json_has_same_figures_as_tables(tmp_path, report):
    document = json.loads(write_report(report, tmp_path)["json"].read_text(encoding="utf-8"))
    assert document["findings"] == report.findings
    table = document["sections"][0]["tables"][0]
    assert table["columns"] == ["group", "recall", "n", "note"]
    assert table["records"][0] == {"group": "g1", "recall": 0.8, "n": 100, "note": ""}
    assert table["records"][2]["recall"] is None  # NaN becomes null, not NaN
    assert document["provenance"]["excluded"] == {"empty": 3}
    assert document["data"] == {"nan": None, "arr": [0, 1, 2], "int": 4}
    sub = document["sections"][0]["subsections"][0]
    assert sub["figures"][0]["file"].endswith(".png")
    assert (tmp_path / sub["figures"][0]["file"]).is_file()


def test_markdown_references_png_files_beside_it(tmp_path, report):
    paths = write_report(report, tmp_path, name="r")
    markdown = paths["md"].read_text(encoding="utf-8")
    files = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown)
    assert len(files) == 2
    for file in files:
        assert (tmp_path / file).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| g2 | 0.600 | 20,000 | undefined: no positive examples" in markdown
    assert "\\<b\\>x\\|y\\</b\\>" in markdown  # a pipe in a cell does not break the table
    assert "- [ ] Are the groups representative?" in markdown


def test_rewriting_a_report_removes_its_stale_figures(tmp_path, report):
    first = write_report(report, tmp_path, name="r")
    assert len(list(first["figures"].glob("*.png"))) == 2
    report.sections[0].subsections = []
    write_report(report, tmp_path, name="r")
    assert [p.name for p in first["figures"].glob("*.png")] == ["01-recall-bars.png"]


def test_report_without_figures_or_extras(tmp_path):
    paths = write_report(Report("Empty"), tmp_path)
    assert "figures" not in paths
    assert "No findings." in paths["html"].read_text(encoding="utf-8")
    assert json.loads(paths["json"].read_text(encoding="utf-8"))["sections"] == []


def test_invalid_arguments(tmp_path):
    with pytest.raises(TypeError, match="DataFrame"):
        Table("t", [[1, 2]])
    with pytest.raises(TypeError, match="matplotlib"):
        Figure("f", "not a figure")
    with pytest.raises(ValueError, match="file stem"):
        write_report(Report("x"), tmp_path, name="../escape")
