"""Shared test fixtures.

``shared_data`` is ../shared/data beside the project (the larger real-data checks run in CI);
where it is absent, those tests skip and say why. ``repo_data`` is the small real data bundled in
the repo under tests/data (with its SOURCE and licence notes), which the default tests use.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPO_DATA = ROOT / "tests" / "data"
SHARED_DATA = Path(os.environ.get("LINKBACK_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data, skipping the calling test (with the reason) if absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the real-data checks need ../shared/data beside the project")
    return path


@pytest.fixture
def shared_data() -> Path:
    return shared_path()


@pytest.fixture
def repo_data() -> Path:
    return REPO_DATA
