"""``findna bench matmul --layouts``: each operand layout timed and labelled; bad names refused."""

import pytest
import torch

from findna.perf.machine import _operand, bench_matmul, parse_layouts
from findna.perf.report import matmul_markdown


def test_operands_have_the_layout_asked_for():
    gen = torch.Generator().manual_seed(0)
    plain, view = _operand(5, 3, False, gen), _operand(5, 3, True, gen)
    assert plain.shape == view.shape == (5, 3)
    assert plain.is_contiguous() and not view.is_contiguous() and view.t().is_contiguous()


def test_every_shape_is_timed_in_every_layout():
    results = bench_matmul(
        [(16, 8, 4)], "fp32", 1, repeats=1, min_total_s=0.0, device="cpu", layouts="nn,nt,tn"
    )
    assert [(r.m, r.k, r.n, r.layout) for r in results] == [
        (16, 8, 4, "nn"),
        (16, 8, 4, "nt"),
        (16, 8, 4, "tn"),
    ]
    assert all(r.gflops == pytest.approx(2 * 16 * 8 * 4 / r.seconds / 1e9) for r in results)
    table = matmul_markdown(results)
    assert "| 1 | 16 x 8 x 4 | " in table and "| 1 | 16 x 8 x 4 (nt) | " in table
    assert "| 1 | 16 x 8 x 4 (tn) | " in table


def test_unknown_layouts_are_refused():
    assert parse_layouts("nt, tn") == ["nt", "tn"]
    with pytest.raises(
        ValueError, match=r"unknown matmul layout\(s\) \['xn'\]; choose from nn, nt"
    ):
        parse_layouts("nn,xn")
