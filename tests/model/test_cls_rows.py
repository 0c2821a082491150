"""Reading the CLS rows a model was pretrained with: once per checkpoint version, and never
masking the loader's error for a broken export."""

import os
from pathlib import Path

import pytest

from findna.model import loading
from findna.model.cls_rows import pretraining_n_cls
from findna.model.loading import load_encoder

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0"  # ssl.n_cls = 2


def test_a_checkpoint_is_read_once_until_it_changes(tmp_path, monkeypatch):
    ckpt = tmp_path / "copy.ckpt"  # away from its run: the count comes from the file itself
    ckpt.write_bytes((LEGACY / "run" / "checkpoints" / "final.ckpt").read_bytes())
    reads = []
    real = loading.read_checkpoint
    monkeypatch.setattr(loading, "read_checkpoint", lambda p: reads.append(p) or real(p))
    assert [pretraining_n_cls(ckpt, w) for w in ("teacher", "student", "teacher")] == [2, 2, 2]
    assert len(reads) == 1
    stat = ckpt.stat()
    os.utime(ckpt, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the file was rewritten
    assert pretraining_n_cls(ckpt, "teacher") == 2 and len(reads) == 2


def test_a_broken_export_config_is_left_to_the_loader_to_report(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert pretraining_n_cls(tmp_path, "teacher") is None
    with pytest.raises(ValueError, match=r"config\.json: not valid JSON"):
        load_encoder(tmp_path)
