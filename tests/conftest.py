"""Shared fixtures: the path to ../shared/data (tests that need it skip where it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to the real recordings; skips the test where they are not beside the repo."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real recordings not found at {SHARED_DATA} (only present in the dev/CI tree)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_session(tmp_path_factory: pytest.TempPathFactory):
    """The demo session recorded once through the raw-log path (simulator -> packets -> log)."""
    from stridecue.cli import DEMO_ATHLETE, DEMO_SEED
    from stridecue.simrecord import record_simulated_session
    from stridecue.simulator import demo_plan

    out = tmp_path_factory.mktemp("demo") / "session"
    return record_simulated_session(demo_plan(), out, seed=DEMO_SEED, athlete=DEMO_ATHLETE)


@pytest.fixture(scope="session")
def demo_result(demo_session):
    """The batch analysis of the demo session."""
    from stridecue.analysis import analyse_session

    return analyse_session(demo_session, on_warning=lambda message: None)
