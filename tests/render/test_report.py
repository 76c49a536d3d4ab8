"""`archscope report`: a self-contained HTML page, checked as text and in a real headless Chromium.

The browser test opens the page with the system's chromium and chromedriver (Debian's
`chromium` and `chromium-driver`, which `.ci/run` installs; nothing is downloaded), and checks
that the console has no error, that the layer table has a row per group and one per layer,
that sorting and expanding work, and that every SVG has drawn something. It saves a screenshot
(its path is printed; with ``ARCHSCOPE_ARTIFACTS`` set, a copy goes to that folder). It skips
when chromium, chromedriver or selenium are missing."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from archscope.api import analyze
from archscope.render.summary import grouped_rows

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
)
NETS = ["resnet18", "mobilenet_v2", "unet"]


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """The report of three networks, made once for this module's tests."""
    from typer.testing import CliRunner

    from archscope.cli.app import app

    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = CliRunner().invoke(app, ["report", *NETS, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_page_is_self_contained(page: Path):
    text = page.read_text("utf-8")
    assert "Content-Security-Policy" in text and "default-src 'none'" in text  # the browser may fetch nothing
    assert not re.search(r"""\b(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "@import" not in text and "url(http" not in text
    # a chart per network and the scatter; a diagram per network where Graphviz's `dot` is installed,
    # and the Mermaid text in its place where it is not (the page says so)
    diagrams = len(NETS) if shutil.which("dot") else 0
    assert text.count("<svg") == len(NETS) + 1 + diagrams
    assert text.count('class="missing"') == len(NETS) - diagrams
    for net in NETS:
        report = analyze(net).report
        assert report is not None and f"{report.totals.params:,}" in text
    assert "1 fused multiply-add = 1 MAC" in text  # the convention is stated


def test_row_counts_in_the_html(page: Path):
    text = page.read_text("utf-8")
    report = analyze("resnet18").report
    assert report is not None
    section = text[text.index('id="net0"') : text.index('id="net1"')]
    assert section.count('<tr class="head') == len(grouped_rows(report, 1))
    assert section.count('<tr class="child"') == sum(1 for r in report.layers if "." in r.name)


def test_bad_input_writes_nothing(cli, tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 8, 8]\nlayers:\n  - {op: conv2d, out: 4, kernel: 9}\n")
    out = tmp_path / "r.html"
    result = cli("report", "resnet18", str(bad), "-o", str(out))
    assert result.exit_code == 1 and "E1" in result.stderr and not out.exists()
    out.write_text("mine")
    result = cli("report", "lenet5", "-o", str(out))
    assert result.exit_code == 2 and "pass --force" in result.stderr and out.read_text() == "mine"
    result = cli("report", "lenet5", "-o", str(tmp_path / "no" / "r.html"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert cli("report", "lenet5").exit_code == 2  # -o is required
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "r.html"]


def test_a_missing_tool_is_said_in_the_page_and_on_stderr(cli, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no Graphviz `dot`
    out = tmp_path / "r.html"
    result = cli("report", "lenet5", "-o", str(out))
    assert result.exit_code == 0 and "apt-get install graphviz" in result.stderr
    text = out.read_text("utf-8")
    assert 'class="missing"' in text and "flowchart TD" in text  # the Mermaid text instead


def _browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no chromium/chromedriver (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1300,1600",
    ):
        options.add_argument(arg)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def test_in_a_real_browser(page: Path, tmp_path: Path):
    driver = _browser()
    try:
        driver.get(page.as_uri())
        js = driver.execute_script
        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == [], errors

        # rows: one per group of --depth 1, one (hidden) per layer inside a group
        report = analyze("resnet18").report
        assert report is not None
        table = "#net0 table.summary"
        heads = js(f"return document.querySelectorAll('{table} tbody tr.head').length")
        children = js(f"return document.querySelectorAll('{table} tbody tr.child').length")
        assert heads == len(grouped_rows(report, 1)) == 11  # conv1 bn1 relu maxpool layer1-4 avgpool flatten fc
        assert children == sum(1 for r in report.layers if "." in r.name)
        assert js(f"return document.querySelector('{table} tr.child').offsetParent") is None  # hidden

        # sorting: MACs (column 5) descending on the first click, ascending on the second
        def macs_order():
            return js(
                f"return Array.from(document.querySelectorAll('{table} tbody tr.head'))"
                ".map(r => Number(r.cells[4].dataset.v))"
            )

        before = macs_order()
        js(f"document.querySelectorAll('{table} thead th')[4].click()")
        after = macs_order()
        assert after == sorted(before, reverse=True) and after != before
        js(f"document.querySelectorAll('{table} thead th')[4].click()")
        assert macs_order() == sorted(before)
        js(f"document.querySelectorAll('{table} thead th')[0].click()")  # by name, A to Z
        names = js(
            f"return Array.from(document.querySelectorAll('{table} tbody tr.head')).map(r => r.cells[0].textContent.replace('▸', '').trim())"
        )
        assert names == sorted(names, key=str.lower)

        # expanding a group shows its layers
        js(f"document.querySelector('{table} button.tog').click()")
        shown = js(
            f"return Array.from(document.querySelectorAll('{table} tr.child')).filter(r => r.offsetParent).length"
        )
        assert shown >= 2

        # every SVG (diagrams, charts, the scatter) has drawn something
        sizes = js(
            "return Array.from(document.querySelectorAll('svg')).filter(s => !s.parentElement.closest('svg'))"
            ".map(s => { const b = s.getBBox(); const r = s.getBoundingClientRect(); return [b.width, b.height, r.width]; })"
        )
        assert len(sizes) == 2 * len(NETS) + 1
        assert all(w > 50 and h > 50 and shown_w > 50 for w, h, shown_w in sizes), sizes

        errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
        assert errors == [], errors
        shot = tmp_path / "report-screenshot.png"
        js("window.scrollTo(0, 0)")
        assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        print(f"screenshot: {shot}")
        if os.environ.get("ARCHSCOPE_ARTIFACTS"):
            folder = Path(os.environ["ARCHSCOPE_ARTIFACTS"])
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, folder / shot.name)
    finally:
        driver.quit()
