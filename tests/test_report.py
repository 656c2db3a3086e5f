"""``autocomp-exo report``: a self-contained HTML page about a run, checked as text and in a
real headless browser (Debian's chromium + chromedriver through selenium)."""

import re
import shutil
from pathlib import Path

import pytest

from autocomp_exo.cli import main

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report of a short real run of the test kernel (2 iterations, from Exo's code
    only, so that the baselines can be faster than the result)."""
    run = tmp_path_factory.mktemp("report") / "run"
    paper = run.parent / "paper.toml"
    paper.write_text("[search]\nseed_baselines = false\n")
    assert main(["optimize", "gemm_64x64x64", "--iterations", "2",
                 "--plans", "2", "--impls", "1", "--engine", "inline",
                 "--settings", str(paper), "--run-dir", str(run)]) == 0
    assert main(["report", str(run)]) == 0
    return run / "report.html"


def test_report_is_self_contained_and_complete(report):
    html = report.read_text()
    # nothing to fetch: no scripts, stylesheets or images from elsewhere
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<link" not in html and "<script" not in html and "url(http" not in html
    best = (report.parent / "best.json").read_text()
    assert "gemm_64x64x64" in html and "Best cycles against candidates evaluated" in html
    # every applied step is named by its menu key and the menu's sentence, with a diff
    import json
    recipe = json.loads(best)["recipe"]
    assert recipe, "the 2-iteration search is expected to improve the start"
    for step in recipe:
        assert f". {step['menu_item']}: " in html
    assert html.count('<pre class="diff">') == len(recipe)
    # the baselines of a 64x64x64 GEMM (the vendor library's and the FSM's programs)
    baselines = json.loads((report.parent / "baselines.json").read_text())
    assert set(baselines) == {"vendor_lib", "hardware_fsm"}
    assert f"{baselines['vendor_lib']:,}" in html
    assert "gemmini_extended_preload" in html          # the final toolchain C


def _browser():
    """A headless chromium driven by selenium, or a skip naming what is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("no chromium / chromedriver on PATH (Debian: apt-get install chromium "
                    "chromium-driver; .ci/run installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,2400",
                "--disable-dev-shm-usage"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=options)


def test_report_renders_in_a_browser(report, tmp_path):
    from selenium.webdriver.common.by import By
    browser = _browser()
    try:
        browser.get(report.as_uri())
        assert browser.title == "autocomp-exo run: gemm_64x64x64"
        plot = browser.find_element(By.CSS_SELECTOR, "#plot svg")
        assert plot.size["width"] > 300 and plot.size["height"] > 150
        nodes = browser.find_elements(By.CSS_SELECTOR, "#tree svg.lineage g.node")
        assert len(nodes) >= 2 and nodes[0].is_displayed()
        assert browser.find_element(By.ID, "engines").is_displayed()
        assert browser.find_element(By.ID, "baselines").is_displayed()
        shot = tmp_path / "report.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    finally:
        browser.quit()


def test_runs_show_names_the_steps_in_words_and_the_faster_baselines(report, capsys):
    import json
    run = report.parent
    assert main(["runs", "show", str(run)]) == 0
    out = " ".join(capsys.readouterr().out.replace("│", " ").split())   # rich wraps cells
    best = json.loads((run / "best.json").read_text())
    menu = (ROOT / "autocomp_exo" / "prompts" / "menu.toml").read_text()
    first = best["recipe"][0]["menu_item"]
    sentence = re.search(rf'key = "{first}"\s*\ntext = "([^"]+)"', menu)
    assert sentence, f"menu.toml layout: no text after key {first!r}"
    assert f"1. {first}: " in out and " ".join(sentence.group(1).split()[:4]) in out
    baselines = json.loads((run / "baselines.json").read_text())
    for cycles in baselines.values():
        if cycles < best["cycles"]:
            assert f"is faster: {cycles:,} cycles" in out
