"""The results page: every table and figure of the report on one self-contained page, built
from the same sections as the Markdown; every link resolves inside the report folder (a run's
record, where the records lie)."""

from __future__ import annotations

from html.parser import HTMLParser
import pytest

from benchmark import report
from benchmark.report.page import PAGE
import chromium  # tests/ is on sys.path under pytest
from test_report import write_fake_suite


class _Page(HTMLParser):
    """The page's tables (header and body rows as text), images, links, scripts and styles."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self.images: list[str] = []
        self.links: list[tuple[str, str]] = []  # (href, class)
        self.script_sources: list[str] = []
        self.stylesheets: list[str] = []
        self.headings: list[str] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._part = None
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append({"class": a.get("class", ""), "header": [], "rows": []})
        elif tag in ("thead", "tbody"):
            self._part = tag
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "a" and "href" in a:
            self.links.append((a["href"], a.get("class", "")))
        elif tag == "script" and "src" in a:
            self.script_sources.append(a["src"])
        elif tag == "link" and a.get("rel") != "icon":
            self.stylesheets.append(a.get("href", ""))
        elif tag in ("h2", "h3", "h4"):
            self._heading = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            table = self.tables[-1]
            if self._part == "thead":
                table["header"] = self._row
            elif len(self._row) == len(table["header"]):  # (a label row spans the table)
                table["rows"].append(self._row)
            self._row = None
        elif tag in ("h2", "h3", "h4") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._heading is not None:
            self._heading.append(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("page")
    records = root / "runs"
    write_fake_suite(records)
    out = records / "report"  # the default place: the records' link is ../<run id>.json
    built = report.build_report(records, out)
    page = _Page()
    page.feed((out / PAGE).read_text(encoding="utf-8"))
    return records, out, built, page


def test_every_table_is_on_the_page_as_its_sections_say(built):
    records, out, made, page = built
    tidy = made.tidy
    documents = {
        "table1": report.table_document("table1", report.table1(tidy)),
        "table2": report.table_document("table2", report.table2(tidy)),
        "sensitivity": report.sensitivity_document(report.sensitivity_table(tidy)),
    }
    tables = {tuple(t["header"]): t for t in page.tables}
    for stem, document in documents.items():
        assert document.sections, stem
        for section in document.sections:
            assert section.title in page.headings, section.title
            rows = [r for t in page.tables if t["header"] == list(section.header) for r in t["rows"]]
            for row in [*section.rows, *section.apart]:
                assert list(row) in rows, (stem, row)
        assert (out / f"{stem}.md").read_text(encoding="utf-8") == document.markdown()
    runs = next(t for t in page.tables if t["header"][:1] == ["Run"])
    assert len(runs["rows"]) == len(tidy) and {r[0] for r in runs["rows"]} == set(tidy["run_id"])
    assert all(t["class"] == "sortable" for t in page.tables) and len(tables) >= 4


def test_every_figure_is_on_the_page(built):
    _, out, made, page = built
    pngs = sorted(p.name for p in made.files if p.suffix == ".png")
    assert {"trimap.png", "boundary.png", "qualitative_streets_small.png", "curves_table1.png"} <= set(pngs)
    assert sorted(set(page.images)) == pngs
    hrefs = {h for h, _ in page.links}
    for png in pngs:  # each figure with its vector twin beside it, linked
        twins = [p for p in made.files if p.stem == png[:-4] and p.suffix in (".svg", ".pdf")]
        assert len(twins) == 1 and twins[0].name in hrefs, png


def test_every_link_resolves_inside_the_report_folder(built):
    records, out, made, page = built
    assert page.script_sources == [] and page.stylesheets == []  # nothing fetched: inline script and style only
    text = (out / PAGE).read_text(encoding="utf-8")
    assert "http:" not in text and "https:" not in text and "@import" not in text and "url(" not in text
    for target in page.images + [h for h, _ in page.links]:
        assert not target.startswith(("/", "http:", "https:", "file:")), target
    inside = out.resolve()
    for src in page.images:
        path = (out / src).resolve()
        assert path.is_file() and path.is_relative_to(inside), src
    kept = 0
    for href, cls in page.links:
        path = (out / href.split("#")[0]).resolve() if not href.startswith("#") else out / PAGE
        assert path.is_file(), href
        if cls == "record":  # a run's record, where the records lie
            assert path.parent == records.resolve() and path.suffix == ".json"
            kept += 1
        else:
            assert path.is_relative_to(inside), href
    assert kept == len(made.tidy)
    anchors = [h[1:] for h, _ in page.links if h.startswith("#")]
    assert anchors and all(f'id="{a}"' in text for a in anchors)


def test_a_run_links_its_loss_curve_and_its_overlay(built):
    _, out, made, page = built
    runs = next(t for t in page.tables if t["header"][:1] == ["Run"])
    assert runs["header"][-3:] == ["Loss curve", "Record", "Kept predictions"]
    text = (out / PAGE).read_text(encoding="utf-8")
    ppce = made.tidy[(made.tidy["method"] == "ppce") & (made.tidy["dataset"] == "streets") & (made.tidy["seed"] == 0)
                     & (made.tidy["init"] == "scratch")]["run_id"].iloc[0]  # fmt: skip
    row = text[text.index(f"<td>{ppce}</td>"):].split("</tr>", 1)[0]
    assert 'href="curves_table1.png"' in row and "<polyline" in row and 'href="qualitative_streets_small.png">overlay' in row
    assert f'href="../{ppce}.json"' in row


def test_the_page_rebuilds_byte_identical(built):
    records, out, _, _ = built
    again = report.build_report(records, records / "again")  # beside the first: the same record links
    assert (records / "again" / PAGE).read_bytes() == (out / PAGE).read_bytes()
    assert again.files[-1].name == PAGE


#: After the load: every figure fetched (lazy ones too) and drawn; the runs table sorted by mIoU
#: with a click on its header, then reversed with a second.
_EVALUATE = (
    "Promise.all([...document.images].map(i => { i.loading = 'eager'; return i.decode().then(() => i.naturalWidth > 0, "
    "() => false); })).then(r => [r.length, r.filter(x => x).length])",
    "(() => { const t = document.getElementById('runs-table'); const th = t.querySelectorAll('thead th')[11];"
    " const col = () => [...t.tBodies[0].rows].map(r => r.cells[11].textContent).filter(x => x).map(Number);"
    " th.click(); const up = col(); th.click(); return [up, col()]; })()",
)


@pytest.mark.skipif(chromium.chromium() is None, reason="no chromium on the PATH (Debian: apt-get install chromium)")
def test_the_page_opens_in_chromium(built):
    """Headless Chromium renders the page: no console error or failed load, no request leaving
    the report folder, every figure drawn, a table sorted by a click on its header."""
    _, out, _, page = built
    seen = chromium.visit(out / PAGE, evaluate=_EVALUATE)
    folder = out.resolve().as_uri() + "/"
    assert seen.errors == []
    assert [u for u in seen.requests if not u.startswith((folder, "data:"))] == []
    images, drawn = seen.results[0]
    assert images == drawn == len(set(page.images)) > 0
    up, down = seen.results[1]
    assert up == sorted(up) and down == sorted(up, reverse=True) and len(up) > 3
    assert seen.screenshot.startswith(b"\x89PNG")
