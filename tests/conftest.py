"""Shared fixtures: a `shared_data` path that skips when the real data root is absent.

``auto`` precision on a CPU is float32 in tests (``FINDNA_CPU_PRECISION``), so results do not
depend on how fast bf16 is on the machine; tests/test_precision.py lifts it to test the choice.
"""

import os
from pathlib import Path

import pytest

from findna.data.root import data_root

os.environ.setdefault("FINDNA_CPU_PRECISION", "32-true")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    try:
        return data_root()
    except FileNotFoundError as err:
        pytest.skip(f"real data not available: {err}")
