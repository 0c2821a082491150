"""The CLS-row count of a checkpoint is read once per file version, not once per probe."""

import os
from pathlib import Path

from findna.model import cls_rows
from findna.model.cls_rows import pretraining_n_cls

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0"  # ssl.n_cls = 2


def test_a_checkpoint_is_read_once_until_it_changes(tmp_path, monkeypatch):
    ckpt = tmp_path / "copy.ckpt"  # away from its run: the count comes from the file itself
    ckpt.write_bytes((LEGACY / "run" / "checkpoints" / "final.ckpt").read_bytes())
    reads = []
    real = cls_rows.read_checkpoint
    monkeypatch.setattr(cls_rows, "read_checkpoint", lambda p: reads.append(p) or real(p))
    assert [pretraining_n_cls(ckpt, w) for w in ("teacher", "student", "teacher")] == [2, 2, 2]
    assert len(reads) == 1
    stat = ckpt.stat()
    os.utime(ckpt, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the file was rewritten
    assert pretraining_n_cls(ckpt, "teacher") == 2 and len(reads) == 2
