"""Benchmark model specs: names, sources, teacher/student suffixes, errors."""

import pytest

from findna.eval.model_specs import ModelSpec, parse_models


def test_parse_models():
    specs = parse_models("findna=runs/a,runs/b/model,scratch,st=runs/a:student,runs/c/checkpoints/"
                         "final.ckpt:student")  # fmt: skip
    assert specs == [
        ModelSpec("findna", "runs/a", "teacher"),
        ModelSpec("b", "runs/b/model", "teacher"),
        ModelSpec("scratch", "scratch", "teacher"),
        ModelSpec("st", "runs/a", "student"),
        ModelSpec("c-student", "runs/c/checkpoints/final.ckpt", "student"),
    ]
    with pytest.raises(ValueError, match="given twice"):
        parse_models("runs/a,other/a")
    with pytest.raises(ValueError, match="NAME=SOURCE"):
        parse_models("=runs/a")
    with pytest.raises(ValueError, match="doubled comma"):
        parse_models("runs/a,,scratch")
    with pytest.raises(ValueError, match="no models given"):
        parse_models("")
