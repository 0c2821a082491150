"""The completion marker of a pretraining run: ``summary.json`` appears whole or not at all."""

import errno
import json
from pathlib import Path

import pytest

from findna.config import load_config
from findna.folders import folder_state
from findna.folders.lock import LOCK
from findna.train.config import PretrainConfig
from findna.train.pretrain import RUN_FOLDER, ensure_pretrained, run_pretrain
from micro_pretrain import micro_config


def _fail_half_way(monkeypatch, name: str) -> None:
    """Writes of files called ``name*`` stop half-way with a full disk, whichever way they go."""
    write_bytes, write_text = Path.write_bytes, Path.write_text

    def bytes_(self: Path, data: bytes) -> int:
        if self.name.startswith(name):
            write_bytes(self, data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_bytes(self, data)

    def text_(self: Path, data: str, *args, **kwargs) -> int:
        if self.name.startswith(name):
            write_text(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_bytes", bytes_)
    monkeypatch.setattr(Path, "write_text", text_)


def test_a_failed_summary_write_leaves_the_run_unfinished(tmp_path, monkeypatch):
    """Issue 20: summary.json marks a finished run by existing, so half of one must never exist;
    the next ``ensure_pretrained`` then finishes the run instead of reusing a broken one."""
    cfg = load_config(PretrainConfig, micro_config(tmp_path, optim={"max_steps": 2}))
    run = cfg.out_dir
    with monkeypatch.context() as patch:
        _fail_half_way(patch, "summary.json")
        with pytest.raises(OSError, match="No space left"):
            run_pretrain(cfg)
    assert (run / "checkpoints" / "final.ckpt").is_file()
    assert sorted(p.name for p in run.glob("summary.json*")) == []
    # The failure gives the run folder's lock back (another process may resume it at once)
    # and leaves it marked unfinished.
    assert not (run / LOCK).exists()
    assert folder_state(run, RUN_FOLDER) == "incomplete"

    ensure_pretrained(cfg)  # not finished: trained again, and this time marked
    assert json.loads((run / "summary.json").read_text())["global_step"] == 2
    assert sorted(p.name for p in run.glob("summary.json*")) == ["summary.json"]
