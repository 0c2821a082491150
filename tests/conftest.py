"""Shared fixtures: a `shared_data` path that skips when the real data root is absent."""

from pathlib import Path

import pytest

from findna.data.root import data_root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    try:
        return data_root()
    except FileNotFoundError as err:
        pytest.skip(f"real data not available: {err}")
