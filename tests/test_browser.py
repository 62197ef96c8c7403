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
DEMO_TIMEOUT_S = 900  # 128 cells: about a minute on a laptop, several on a busy 2-core CI box
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


def test_demo_end_to_end(server: tuple[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    from studies.dashboard import study_progress

    server, storage = server

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1600})
            page.goto(server)
            _settle(page)
            _shot(page, "01-home-no-studies")
            page.get_by_role("button", name="Run the demo").click()
            page.wait_for_url("**/run?study=demo", timeout=120_000)

            def cells() -> list[list[int]]:
                assert page.locator(EXCEPTION).count() == 0, "an exception box while running"
                return page.evaluate(HEATMAP_CELLS)

            # Live: the cells fill in epoch by epoch while the population trains.
            _wait(lambda: any(f > 0 for f, _ in cells()), DEMO_TIMEOUT_S, "the first cells")
            _shot(page, "02-run-live")
            _wait(lambda: study_progress(storage, "demo").finished, DEMO_TIMEOUT_S,
                  "the demo to finish", every=2.0)
            time.sleep(3 * 1.5)  # a few polls of the page's live view
            _settle(page)
            full = _wait(lambda: (c := cells()) and all(f == n == 64 for f, n in c) and c,
                         120, "full heatmaps on the Run page")
            assert len(full) == 2
            _shot(page, "03-run-finished")

            for k, (path, name) in enumerate([
                ("", "home"), ("landscape?study=demo", "landscape"),
                ("curves?study=demo", "curves"), ("schedules", "schedules"),
                ("studies?study=demo", "studies"), ("run?study=demo", "run"),
            ], start=4):
                page.goto(f"{server}/{path}")
                _settle(page)
                if name == "landscape":
                    assert all(f == n == 64 for f, n in cells()) and len(cells()) == 2
                _shot(page, f"{k:02d}-{name}")

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
            _shot(page, "10-landscape-cell-curves")
        finally:
            browser.close()
