"""The stride report rendered in headless Chromium: every plot and table present, no script error.

Skips where ``/usr/bin/chromium`` (or ``$STRIDECUE_CHROMIUM``) is missing. The screenshot is kept
in ``test-artifacts/`` (gitignored) for a person to look at.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from stridecue.history import HistoryDB, write_history_report
from stridecue.report import write_report
from stridecue.report.html import STRIDE_PLOTS
from tests.test_report import make_result

REPO_ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = os.environ.get("STRIDECUE_CHROMIUM", "/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0", "--hide-scrollbars")
TABLE_IDS = ("summary-table", "laps-table", "lap-comparison-table", "lap-side-table",
             "cues-table", "mobility-table", "quality-table", "src-table", "settings-table")

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)),
    reason=f"headless Chromium not found at {CHROMIUM} (apt-get install -y chromium, or set "
           "STRIDECUE_CHROMIUM)",
)


def _chromium(tmp_path: Path, html: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=3000",
           *extra, html.resolve().as_uri()]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=25, check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("headless Chromium did not finish within 25 s on this machine")


def _dump_dom(tmp_path: Path, html: Path) -> tuple[str, str]:
    proc = _chromium(tmp_path, html, "--dump-dom")
    if proc.returncode != 0 or "<html" not in proc.stdout:
        pytest.skip(f"headless Chromium cannot run here: {proc.stderr.strip()[-300:]}")
    return proc.stdout, proc.stderr


def _script_errors(dom: str, stderr: str) -> list[str]:
    block = re.search(r'<div id="script-errors">(.*?)</div>', dom, re.S)
    errors = re.findall(r"script error: [^<]*", block.group(1)) if block else ["no error box"]
    errors += [ln for ln in stderr.splitlines() if "Uncaught" in ln]
    return errors


@pytest.fixture(scope="module")
def report_path(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    r = make_result(n_laps=3, overstride_deg=(31.0, 26.0, 21.0), seed=21)
    return write_report(r, out / "report.html", athlete={"name": "Sam", "injured_side": "right"},
                        session_meta={"session_id": "2024-05-01-track", "place": "track"},
                        mobility={"straight_leg_raise_left_deg": 71.0,
                                  "straight_leg_raise_right_deg": 58.0,
                                  "kneeling_hip_flexor_left": "big pull"})


def test_report_renders_every_plot_and_table_without_script_error(report_path, tmp_path):
    dom, stderr = _dump_dom(tmp_path, report_path)
    assert 'data-report-ready="1"' in dom, "the page's script did not run to the end"
    assert _script_errors(dom, stderr) == []
    for plot_id in ("plot-laps", *(p[0] for p in STRIDE_PLOTS)):
        fig = re.search(rf'<figure class="plot" id="{plot_id}">(.*?)</figure>', dom, re.S)
        assert fig is not None, f"{plot_id} missing"
        assert "<svg" in fig.group(1), f"{plot_id} has no svg"
        assert len(re.findall(r"<path", fig.group(1))) > 10, f"{plot_id} looks empty"
    for table_id in TABLE_IDS:
        table = re.search(rf'<table id="{table_id}"[^>]*>(.*?)</table>', dom, re.S)
        assert table is not None, f"{table_id} missing"
        assert table.group(1).count("<tr>") >= 2, f"{table_id} has no rows"
    assert dom.count('class="finding ') >= 4


def test_report_screenshot_is_kept(report_path, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    proc = _chromium(tmp_path, report_path, f"--screenshot={shot}", "--window-size=1200,5200")
    if not shot.is_file():
        pytest.skip(f"headless Chromium could not take a screenshot: {proc.stderr[-300:]}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000  # a blank page compresses to a few kB
    shutil.copy(report_path, ARTIFACTS / "report.html")


def test_error_catcher_reports_a_broken_script(report_path, tmp_path):
    # proves the check above can fail: a deliberately broken script must show up
    broken = tmp_path / "broken.html"
    text = report_path.read_text(encoding="utf-8")
    broken.write_text(text.replace("</body>", "<script>undefinedFunction();</script></body>"),
                      encoding="utf-8")
    dom, stderr = _dump_dom(tmp_path, broken)
    errors = _script_errors(dom, stderr)
    assert any("undefinedFunction" in e for e in errors), errors


def test_history_report_renders(tmp_path):
    with HistoryDB(tmp_path / "h.sqlite") as db:
        for week, over in enumerate((32.0, 30.0, 27.0, 31.0, 23.0)):
            r = make_result(strides_per_side_per_lap=60, overstride_deg=(over, over),
                            seed=300 + week)
            db.add_result("Sam", f"w{week + 1}", f"2024-04-{1 + 7 * week:02d}T18:00:00", r)
        db.set_baseline("Sam", "first:2")
        path = write_history_report(db, "Sam", tmp_path / "history.html")
    dom, stderr = _dump_dom(tmp_path, path)
    assert _script_errors(dom, stderr) == []
    assert re.search(r"<figure class=\"plot\" id=\"plot-trend-thigh_angle_ic_deg\">.*?<svg",
                     dom, re.S)
    for table_id in ("sessions-table", "baseline-table", "trend-table"):
        assert f'id="{table_id}"' in dom
    ARTIFACTS.mkdir(exist_ok=True)
    _chromium(tmp_path, path, f"--screenshot={ARTIFACTS / 'history.png'}",
              "--window-size=1200,3000")
