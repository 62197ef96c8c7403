"""End to end in a real browser (Debian's headless Chromium, driven by Playwright).

Starts the dashboard the way the README does (``make dashboard`` runs ``python -m streamlit
run app.py --server.port PORT``; the test runs that command itself, without make's setup
step, on a free port and a temporary storage), runs the demo from Home, waits until every
cell of both heatmaps is filled, clicks a cell for its learning curves, visits every page,
checks that no exception box is shown, and saves a screenshot of each page in
``test-artifacts/screenshots/``. The server, and any study process it started, are always
stopped.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from _dashboard_support import ROOT, kill_recorded_runs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "test-artifacts" / "screenshots"
DEMO_TIMEOUT_S = 900  # about a minute on a laptop, several on a busy 2-core CI box
EXCEPTION = '[data-testid="stException"]'

# Finite cells / all cells of every heatmap on the page, read from Plotly's own data.
HEATMAP_CELLS = """() => {
  const out = [];
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    for (const t of (gd._fullData || [])) {
      if (t.type !== 'heatmap' || !t.z) continue;
      let n = 0, finite = 0;
      for (const row of t.z) for (const v of row) { n++; if (Number.isFinite(v)) finite++; }
      out.push([finite, n]);
    }
  }
  return out;
}"""

# Page coordinates of the centre of a heatmap cell of the first panel of the first chart.
CELL_CENTRE = """([i, j]) => {
  const gd = document.querySelector('.js-plotly-plot');
  const t = gd._fullData.find(d => d.type === 'heatmap');
  const xa = gd._fullLayout[t.xaxis.replace('x', 'xaxis')];
  const ya = gd._fullLayout[t.yaxis.replace('y', 'yaxis')];
  const box = gd.getBoundingClientRect();
  return [box.left + xa._offset + xa.l2p(t.x[j]), box.top + ya._offset + ya.l2p(t.y[i])];
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate: Callable[[], Any], timeout: float, what: str, every: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The dashboard on a free port with a fresh storage; stopped (by PID) whatever happens."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser test needs Debian's chromium. Install it with "
            "`sudo apt-get install -y chromium` (never `playwright install`)."
        )
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "WDLAB_READ_ONLY"}
    storage = f"sqlite:///{tmp_path / 's.db'}"
    env.update(WDLAB_HOME=str(tmp_path), WDLAB_STORAGE=storage)
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        def healthy() -> bool:
            if proc.poll() is not None:
                pytest.fail(f"the dashboard exited ({proc.returncode}): "
                            + (tmp_path / "server.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health",
                                            timeout=2) as r:
                    return r.status == 200
            except OSError:
                return False

        _wait(healthy, 90, "the dashboard's /_stcore/health", every=0.5)
        yield f"http://127.0.0.1:{port}", storage
    finally:
        kill_recorded_runs(tmp_path)  # the demo's own process, if the test stopped early
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        log.close()


def _settle(page: Any) -> None:
    """Wait until the script run of the page is over."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=60_000)
    time.sleep(0.5)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           timeout=180_000)
    time.sleep(1.0)


def _shot(page: Any, name: str) -> None:
    assert page.locator(EXCEPTION).count() == 0, f"an exception box on {name}"
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _top(page: Any, selector: str) -> float:
    """Page y of the top of the first element matching ``selector``."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return box["y"]


PAGES = [("", "home"), ("run?study=demo", "run"), ("landscape?study=demo", "landscape"),
         ("curves?study=demo", "curves"), ("schedules", "schedules"),
         ("studies?study=demo", "studies")]


def test_demo_end_to_end(server: tuple[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    from studies import dashboard as dash
    from studies.spec import load_preset
    from studies.storage import StoredStudy

    server, storage = server
    demo = load_preset("demo")
    panel = len(demo.lr_values(demo.optimizers[0])) * len(demo.weight_decay_values(
        demo.optimizers[0]))  # cells of one heatmap
    SHOTS.mkdir(parents=True, exist_ok=True)
    foreign: list[str] = []  # requests that leave this machine (fonts, icons, telemetry)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.on("request", lambda r: foreign.append(r.url)
                    if not r.url.startswith(("http://127.0.0.1", "data:", "blob:", "about:"))
                    else None)
            page.goto(server)
            _settle(page)
            _shot(page, "01-home-no-studies-1440")
            demo = page.get_by_role("button", name="Run the demo")
            box = demo.bounding_box()
            assert box is not None and box["y"] + box["height"] <= 900, "demo below the fold"

            _form_and_yaml_round_trip(page, server)
            _failed_launch_stays(page, server)

            page.goto(server)
            _settle(page)
            page.get_by_role("button", name="Run the demo").click()
            page.wait_for_url("**/run?study=demo", timeout=120_000)

            def cells() -> list[list[int]]:
                assert page.locator(EXCEPTION).count() == 0, "an exception box while running"
                return page.evaluate(HEATMAP_CELLS)

            # Live: the cells fill in epoch by epoch while the population trains.
            _wait(lambda: any(f > 0 for f, _ in cells()), DEMO_TIMEOUT_S, "the first cells")
            _shot(page, "02-run-live-1440")
            _record_eta(page, storage, "demo")
            time.sleep(3 * 1.5)  # a few polls of the page's live view
            _settle(page)
            full = _wait(lambda: (c := cells()) and all(f == n == panel for f, n in c[:2]) and c,
                         120, "full heatmaps on the Run page")
            assert len(full) == 2
            _shot(page, "03-run-finished-1440")

            for k, (path, name) in enumerate(PAGES, start=4):
                page.goto(f"{server}/{path}")
                _settle(page)
                if name == "landscape":
                    assert all(f == n == panel for f, n in cells()[:2])
                    assert _top(page, ".js-plotly-plot") < 900 - 300, "heatmaps below the fold"
                _shot(page, f"{k:02d}-{name}-1440")

            page.goto(f"{server}/landscape?study=demo")
            _settle(page)
            x, y = page.evaluate(CELL_CENTRE, [3, 4])
            page.mouse.move(x, y)
            time.sleep(0.5)
            page.mouse.click(x, y)
            page.get_by_text("Adam · α = ").wait_for(timeout=60_000)
            _settle(page)
            assert page.locator(".js-plotly-plot").count() >= 2  # the cell's learning curves
            page.get_by_text("Adam · α = ").scroll_into_view_if_needed()
            _shot(page, "10-landscape-cell-curves-1440")

            _refine_cancel_remove(page, server, storage, StoredStudy, dash)
            _delete_clears_the_url(page, server, storage)

            narrow = browser.new_page(viewport={"width": 800, "height": 900})
            loads = []  # first visit of each page in a fresh tab: a measurement, not a test
            for k, (path, name) in enumerate(PAGES, start=20):
                start = time.monotonic()
                narrow.goto(f"{server}/{path}")
                _settle(narrow)
                loads.append(f"{name}: {time.monotonic() - start - 1.5:.1f} s")  # _settle's 1.5
                if k == 20:  # folded: only its "expand" button shows
                    _wait(lambda: narrow.locator(
                        '[data-testid="stExpandSidebarButton"]').is_visible(), 10,
                        "the sidebar to fold at 800 px", every=0.5)
                    box = narrow.locator('[data-testid="stSidebar"]').bounding_box()
                    assert box is None or box["x"] + box["width"] <= 0
                _shot(narrow, f"{k:02d}-{name}-800")
            (SHOTS.parent / "page-loads.txt").write_text("\n".join(loads) + "\n")
        finally:
            browser.close()
    assert not foreign, f"requests that leave the machine: {sorted(set(foreign))[:5]}"


def _edit_as(page: Any, source: str) -> None:
    """Switch the Run form's "Edit as" radio to ``source`` ("Form" or "YAML")."""
    page.locator('[data-testid="stRadio"]').filter(has_text="Edit as").get_by_text(
        source, exact=True).click()
    _settle(page)


def _form_and_yaml_round_trip(page: Any, server: str) -> None:
    """A field typed in the form is in the YAML; a line edited in the YAML is in the form."""
    page.goto(f"{server}/run")
    _settle(page)
    name = page.get_by_role("textbox", name="Study name *")
    name.fill("browser-trip")
    name.press("Enter")
    _settle(page)
    _edit_as(page, "YAML")
    yaml_box = page.get_by_role("textbox", name="Spec (YAML)")
    text = yaml_box.input_value()
    assert "name: browser-trip" in text
    yaml_box.fill(text.replace("epochs: 30", "epochs: 17"))
    page.get_by_text("Run a study").click()  # blur: the text area commits
    _settle(page)
    _edit_as(page, "Form")
    assert page.get_by_role("textbox", name="Study name *").input_value() == "browser-trip"
    assert page.get_by_role("spinbutton", name="Epochs *").input_value() == "17"
    _shot(page, "11-run-form-after-yaml-1440")


def _failed_launch_stays(page: Any, server: str) -> None:
    """A launch the process refuses (Apple MPS on Linux) stays on its study, with the error."""
    page.goto(f"{server}/run")
    _settle(page)
    _edit_as(page, "YAML")
    yaml_box = page.get_by_role("textbox", name="Spec (YAML)")
    text = yaml_box.input_value()
    text = text.replace("name: demo", "name: broken").replace("device: auto", "device: mps")
    yaml_box.fill(text)
    page.get_by_text("Run a study").click()
    _settle(page)
    page.get_by_role("button", name="Launch").click()
    page.wait_for_url("**/run?study=broken", timeout=60_000)
    page.get_by_text("The process for broken failed").wait_for(timeout=120_000)
    _settle(page)
    assert "study=broken" in page.url
    assert "MPS" in page.get_by_text("The process for broken failed").inner_text()
    _shot(page, "12-run-failed-launch-1440")


def _record_eta(page: Any, storage: str, study: str) -> None:
    """Write the ETA the page showed against the time the run really took to
    test-artifacts/eta-demo.txt (a measurement for people, never an assertion)."""
    from studies.dashboard import study_progress

    bar = page.locator('[data-testid="stProgress"]').first
    seen: list[tuple[float, str]] = []
    deadline = time.monotonic() + DEMO_TIMEOUT_S
    while time.monotonic() < deadline and not study_progress(storage, study).finished:
        with contextlib.suppress(Exception):  # the fragment redrew it meanwhile
            seen.append((time.monotonic(), bar.inner_text(timeout=2_000)))
        time.sleep(1.0)
    end = time.monotonic()
    lines = [f"{end - t:6.1f} s truly left | {text}" for t, text in seen]
    (SHOTS.parent / "eta-demo.txt").write_text("\n".join(lines) + "\n")


def _refine_cancel_remove(page: Any, server: str, storage: str, stored_study: Any,
                          dash: Any) -> None:
    """Refine with the default region: only exact grid points are added; Cancel says what it
    discards before it does it; the added cells can be removed again."""
    from studies.spec import load_preset

    page.goto(f"{server}/landscape?study=demo")
    _settle(page)
    page.get_by_text("Refine: a finer grid").click()
    values = page.get_by_role("spinbutton", name="Values per axis")
    values.fill("9")
    values.press("Tab")
    page.get_by_role("button", name="Add the finer grid").click()
    _settle(page)
    page.get_by_text("new cells to demo").wait_for(timeout=60_000)
    for axis in ("lr", "weight_decay"):
        points = sorted({getattr(c, axis) for c in stored_study.open(storage, "demo").cells()})
        ratios = [b / a for a, b in itertools.pairwise(points) if a > 0]
        assert min(ratios) > 1.001, f"near-duplicate {axis} values: {points}"
    _wait(lambda: dash.study_progress(storage, "demo").running > 0, 300,
          "the worker to train the added cells", every=1.0)
    page.goto(f"{server}/run?study=demo")
    _settle(page)
    page.get_by_role("button", name="Cancel…").click()
    confirm = page.get_by_text("Cancelling now keeps the")
    confirm.wait_for(timeout=60_000)
    text = confirm.inner_text()
    assert "finished cells" in text and "cells in training" in text and "epoch 1" in text
    _shot(page, "13-run-cancel-confirm-1440")
    page.get_by_role("button", name="Cancel the run").click()
    page.get_by_text("finished cells kept").wait_for(timeout=120_000)
    _settle(page)
    assert page.get_by_role("button", name="Resume").count() == 1
    _shot(page, "14-run-cancelled-1440")
    page.goto(f"{server}/landscape?study=demo")
    _settle(page)
    page.get_by_text("Refine: a finer grid").click()
    _settle(page)
    waiting = page.get_by_role("button", name="not trained yet")
    if waiting.count():
        waiting.click()
        page.get_by_text("before they trained").wait_for(timeout=60_000)
        _settle(page)
    finished = page.get_by_text("Also remove the")
    if dash.added_cells(storage, "demo").finished:
        if not finished.is_visible():
            page.get_by_text("Refine: a finer grid").click()
        finished.click()
        _settle(page)
        page.get_by_role("button", name="Remove all added cells").click()
        _settle(page)
    progress = dash.study_progress(storage, "demo")
    demo = load_preset("demo")
    assert (progress.total, progress.done) == (demo.n_cells, demo.n_cells), progress
    assert dash.added_cells(storage, "demo").total == 0


def _delete_clears_the_url(page: Any, server: str, storage: str) -> None:
    from studies.runner import create_study
    from studies.spec import load_preset, spec_from_dict

    create_study(spec_from_dict({**load_preset("demo").to_dict(), "name": "scratch"}),
                 storage=storage)
    page.goto(f"{server}/studies?study=scratch")
    _settle(page)
    page.get_by_text("Delete this study").click()
    box = page.locator('[data-testid="stExpander"]').filter(
        has_text="Delete this study").locator("input")
    box.fill("scratch")
    box.press("Enter")
    _settle(page)
    page.get_by_role("button", name="Delete for good").click()
    page.get_by_text("Deleted study scratch").wait_for(timeout=60_000)
    _settle(page)
    assert "scratch" not in page.url
