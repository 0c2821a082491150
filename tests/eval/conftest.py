"""Downstream tests run torch on one thread: two threads stall at OpenMP barriers whenever
anything else uses the second core (docs/performance.md, section 3), and these models are tiny."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
