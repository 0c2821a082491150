"""The output rule (findna/outputs.py): checks before work, --force by kind, atomic writes."""

import os
import subprocess
from pathlib import Path

import pytest

from findna.outputs import (
    atomic_output,
    check_output_dir,
    check_output_file,
    remove_stale_temps,
    require_file,
    temp_path,
    write_bytes_atomic,
    write_text_atomic,
)


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_dead_processes_are_removed_live_ones_kept(tmp_path):
    target = tmp_path / "out.npy"
    dead, live = _dead_pid(), os.getppid()
    stale = [tmp_path / f"out.npy.tmp-{dead}", tmp_path / f"out.npy.tmp-{dead}.raw"]
    keep = [
        tmp_path / f"out.npy.tmp-{live}",
        tmp_path / f"out.npy.tmp-{os.getpid()}.raw",
        tmp_path / "out.npy.tmp-notapid",
        tmp_path / "other.npy.tmp-1",
    ]
    for p in stale + keep:
        p.write_text("x")
    (tmp_path / f"out.npy.tmp-{dead}.d").mkdir()  # a folder leftover (prepare genome)
    removed = remove_stale_temps(target)
    assert sorted(removed) == sorted([*stale, tmp_path / f"out.npy.tmp-{dead}.d"])
    assert all(p.exists() for p in keep) and not any(p.exists() for p in stale)
    assert temp_path(target, ".raw").name == f"out.npy.tmp-{os.getpid()}.raw"


def test_atomic_output_renames_on_success_and_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "a" / "result.txt"
    with atomic_output(target) as tmp:
        tmp.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "new" and sorted(p.name for p in target.parent.iterdir()) == [
        "result.txt"
    ]
    folder = tmp_path / "genome"  # a folder output replaces the old folder as a whole
    folder.mkdir()
    (folder / "old.bin").write_text("old")
    with atomic_output(folder) as tmp:
        tmp.mkdir()
        (tmp / "new.bin").write_text("new")
    assert [p.name for p in folder.iterdir()] == ["new.bin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "genome"]


def test_write_text_atomic_replaces_on_success_and_keeps_the_old_file_on_failure(
    tmp_path, monkeypatch
):
    target = tmp_path / "new" / "summary.json"  # missing folders are made
    assert write_text_atomic(target, '{"a": 1}\n') == target
    assert target.read_text() == '{"a": 1}\n'
    write_text_atomic(target, "ünïcode\n")
    assert target.read_bytes() == "ünïcode\n".encode()
    write_bytes_atomic(target, b"old")

    real_write = Path.write_bytes

    def dies_halfway(self, data):
        real_write(self, data[: len(data) // 2])  # half the bytes reach the disk, then it fails
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", dies_halfway)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomic(target, "a much longer new text that never arrives")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert [p.name for p in target.parent.iterdir()] == ["summary.json"]  # no temporary behind


def test_checks_name_the_problem(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match="is a folder; give a file inside it"):
        require_file(tmp_path, "table")
    with pytest.raises(FileNotFoundError, match="table .*nope does not exist"):
        require_file(tmp_path / "nope", "table")
    with pytest.raises(ValueError, match="f is a file, not a folder"):
        check_output_file(tmp_path / "f" / "out.csv")
    with pytest.raises(ValueError, match="is an input of this command"):
        check_output_file(tmp_path / "f", force=True, inputs=[tmp_path / "f"])
    with pytest.raises(FileExistsError, match="exists; pass --force"):
        check_output_file(tmp_path / "f")
    assert check_output_file(tmp_path / "f", force=True) == tmp_path / "f"
    run = tmp_path / "run"
    run.mkdir()
    (run / "mine.txt").write_text("x")
    for force in (False, True):
        with pytest.raises(ValueError, match="does not hold a thing; findna will not write"):
            check_output_dir(run, kind="thing", is_kind=lambda p: False, force=force)
    with pytest.raises(FileExistsError, match="holds a thing already; resume instead"):
        check_output_dir(run, kind="thing", is_kind=lambda p: True, exists_hint="resume instead")
    assert check_output_dir(run, kind="thing", is_kind=lambda p: True, force=True) == run
    with pytest.raises(ValueError, match="holds an input of this command"):
        check_output_dir(tmp_path, kind="thing", is_kind=lambda p: True, inputs=[tmp_path / "f"])
