"""Checkpoint files of a run: atomic writes, export of the teacher or student."""

from pathlib import Path

import pytest
import torch

from findna.model.network import FinDNANetwork
from findna.train.checkpoint import AtomicCheckpointIO, export_checkpoint

LEGACY = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0"


def test_atomic_write_leaves_no_temporary_file_and_replaces_the_old(tmp_path):
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"step": 1}, path)
    io.save_checkpoint({"step": 2}, path)
    assert torch.load(path)["step"] == 2
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.ckpt"]


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "last.ckpt"
    io.save_checkpoint({"step": 1}, path)

    def broken(obj, f):
        f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        io.save_checkpoint({"step": 2}, path)
    monkeypatch.undo()
    assert torch.load(path)["step"] == 1


def test_a_failed_write_leaves_no_temporary(tmp_path, monkeypatch):
    """The write goes through findna.outputs.atomic_output, which removes its temporary."""

    def broken(obj, f):
        f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(OSError, match="disk full"):
        AtomicCheckpointIO().save_checkpoint({"step": 1}, tmp_path / "last.ckpt")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("which", ["teacher", "student"])
def test_export_of_a_legacy_checkpoint_loads_back(which, tmp_path):
    out = export_checkpoint(LEGACY / "run" / "checkpoints" / "final.ckpt", tmp_path / which, which)
    assert {"config.json", "model.safetensors"} <= {p.name for p in out.iterdir()}
    net = FinDNANetwork.from_pretrained(str(out))
    ckpt = torch.load(LEGACY / "run" / "checkpoints" / "final.ckpt", weights_only=False)
    key = f"model.{which}.embed.weight"
    assert torch.equal(net.state_dict()["embed.weight"], ckpt["state_dict"][key])
    if which == "teacher":
        expected = FinDNANetwork.from_pretrained(str(LEGACY / "model")).state_dict()
        assert all(torch.equal(v, expected[k]) for k, v in net.state_dict().items())
