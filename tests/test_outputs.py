"""The output rule (findna/outputs.py): checks before work, --force by kind, atomic writes."""

import os
import socket
import subprocess
from pathlib import Path

import pytest

from findna.outputs import (
    atomic_output,
    check_output_dir,
    check_output_file,
    json_text,
    remove_stale_temps,
    require_file,
    temp_path,
    write_bytes_atomic,
    write_text_atomic,
)


def test_json_text_is_strict_json_with_undefined_values_as_null():
    """NaN and infinities at any depth (a NumPy float32 NaN too) become null; NumPy scalars become
    numbers; the text parses under a parser that refuses NaN, and ends with a newline."""
    import json

    import numpy as np

    split = {"test": {"rows": np.int64(3), "mcc": np.float64(0.25)}}
    data = {"auroc": float("nan"), "r": [1.5, float("inf"), np.float32("nan")], "split": split}
    text = json_text(data)

    def refuse(name):
        raise AssertionError(f"{name} is not JSON")

    assert text.endswith("}\n")
    want = {"auroc": None, "r": [1.5, None, None], "split": {"test": {"rows": 3, "mcc": 0.25}}}
    assert json.loads(text, parse_constant=refuse) == want
    with pytest.raises(TypeError):
        json_text({"a": object()})


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


# The life cycle of an output folder (findna/folders; issue 22).


def _kind():
    from findna.folders import FolderKind

    return FolderKind(
        "thing report",
        "thing",
        ("config.yaml", "thing.json", "seed<k>"),
        lambda p: (p / "thing.json").is_file(),
    )


def _hashes(root: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _write_thing(folder: Path, text: str, force: bool | None = None) -> None:
    from findna.folders import output_folder

    with output_folder(folder, _kind(), force=force) as out:
        (out / "config.yaml").write_text(text)
        (out / "thing.json").write_text(text)
        (out / "seed0").mkdir()
        (out / "seed0" / "w.bin").write_text(text)


def test_force_removes_only_what_the_manifest_lists(tmp_path):
    from findna.folders import check_folder, read_manifest

    out = tmp_path / "out"
    _write_thing(out, "old")
    manifest = read_manifest(out)
    assert manifest["complete"] is True and manifest["command"] == "thing"
    assert manifest["files"] == ["config.yaml", "seed0", "thing.json"]
    (out / "NOTES.txt").write_text("mine")
    (out / "seed_notes").mkdir()  # not seed<k>: the user's
    (out / "seed_notes" / "a.txt").write_text("mine too")
    with pytest.raises(FileExistsError, match="holds a thing report already; pass --force"):
        check_folder(out, _kind())
    mine = {k: v for k, v in _hashes(out).items() if "NOTES" in k or "seed_notes" in k}
    _write_thing(out, "new", force=True)
    after = _hashes(out)
    assert {k: after[k] for k in mine} == mine
    assert (out / "thing.json").read_text() == "new" and read_manifest(out)["complete"]
    assert not (out / ".findna-lock").exists()


def test_a_failed_run_is_incomplete_and_replaced_without_force_with_a_warning(tmp_path, caplog):
    from findna.folders import check_folder, read_manifest

    out = tmp_path / "out"
    _write_thing(out, "old")
    (out / "NOTES.txt").write_text("mine")
    from findna.folders import output_folder

    with pytest.raises(RuntimeError), output_folder(out, _kind(), force=True) as o:
        (o / "config.yaml").write_text("half")  # the old thing.json is gone already
        raise RuntimeError("killed")
    assert read_manifest(out)["complete"] is False
    assert sorted(p.name for p in out.iterdir()) == [
        ".findna-manifest.json",
        "NOTES.txt",
        "config.yaml",
    ]
    check_folder(out, _kind())  # no --force needed
    with caplog.at_level("WARNING"):
        _write_thing(out, "new")
    assert "held an unfinished thing report" in caplog.text and "config.yaml" in caplog.text
    assert "kept NOTES.txt" in caplog.text
    assert (out / "NOTES.txt").read_text() == "mine" and read_manifest(out)["complete"]


def test_a_folder_without_manifest_loses_only_its_kinds_names(tmp_path, caplog):
    from findna.folders import check_folder

    out = tmp_path / "old"
    out.mkdir()
    for name in ("config.yaml", "thing.json", "NOTES.txt"):
        (out / name).write_text("x")
    (out / "seed3").mkdir()
    (out / "probe").mkdir()
    (out / "probe" / "probe.json").write_text("{}")
    with pytest.raises(FileExistsError, match="pass --force"):
        check_folder(out, _kind())
    with caplog.at_level("INFO"):
        _write_thing(out, "new", force=True)
    assert "kept NOTES.txt, probe (not written by findna " in caplog.text
    assert (out / "probe" / "probe.json").read_text() == "{}" and not (out / "seed3").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("x")
    for force in (False, True):
        with pytest.raises(ValueError, match="does not hold a thing report.*even with --force"):
            check_folder(other, _kind(), force=force)


def test_another_commands_folder_is_refused(tmp_path):
    from findna.folders import FolderKind, check_folder

    out = tmp_path / "out"
    _write_thing(out, "x")
    export = FolderKind("export", "export", ("config.json",), lambda p: False)
    with pytest.raises(ValueError, match=r"holds the output of `findna thing`.*even with --force"):
        check_folder(out, export, force=True)


def test_a_live_writer_holds_the_folder_and_a_dead_ones_lock_is_taken_over(tmp_path):
    from findna.folders import LOCK, OutputBusyError, check_folder

    out = tmp_path / "out"
    out.mkdir()
    live = os.getppid()
    (out / LOCK).write_text(f"{live} {socket.gethostname()}\n")
    before = _hashes(tmp_path)
    with pytest.raises(OutputBusyError, match=rf"another findna run \(pid {live}\) is writing"):
        check_folder(out, _kind())
    with pytest.raises(OutputBusyError, match=rf"pid {live}.*delete \S*\.findna-lock"):
        _write_thing(out, "new")
    assert _hashes(tmp_path) == before
    (out / LOCK).write_text(f"{_dead_pid()} {socket.gethostname()}\n")
    _write_thing(out, "new")  # the killed writer's lock is stale
    assert not (out / LOCK).exists() and (out / "thing.json").read_text() == "new"


def test_single_file_lock_and_no_clobber_rename(tmp_path):
    from findna.folders import OutputBusyError, file_lock, file_lock_path, rename_no_clobber

    target = tmp_path / "emb.npy"
    file_lock_path(target).write_text(f"{os.getppid()} {socket.gethostname()}\n")
    with pytest.raises(OutputBusyError, match=r"writing \S*emb\.npy"), file_lock(target):
        pass
    file_lock_path(target).unlink()
    with file_lock(target) as lock:
        assert lock.read_text().split()[0] == str(os.getpid())
    assert not file_lock_path(target).exists()
    tmp = tmp_path / "emb.npy.tmp-1"
    tmp.write_text("mine")
    target.write_text("theirs")  # appeared while the command ran
    with pytest.raises(FileExistsError, match="appeared while this command ran.*kept"):
        rename_no_clobber(tmp, target)
    assert target.read_text() == "theirs" and not tmp.exists()
    tmp.write_text("mine")
    rename_no_clobber(tmp, tmp_path / "new.npy")
    assert (tmp_path / "new.npy").read_text() == "mine" and not tmp.exists()


def test_leftovers_of_killed_writers_of_our_names_go_with_the_output(tmp_path, caplog):
    out = tmp_path / "out"
    _write_thing(out, "old")
    dead, host = _dead_pid(), socket.gethostname()
    (out / f"thing.json.tmp-{dead}").write_text("half")  # an atomic write, killed
    (out / "seed1.findna-lock").write_text(f"{dead} {host}\n")  # a nested writer, killed
    (out / "seed2.findna-lock").write_text(f"{os.getppid()} {host}\n")  # a live one: not ours
    (out / f"NOTES.txt.tmp-{dead}").write_text("the user's")  # not a name findna writes
    with caplog.at_level("INFO"):
        _write_thing(out, "new", force=True)
    left = sorted(p.name for p in out.iterdir())
    assert left == [
        ".findna-manifest.json",
        f"NOTES.txt.tmp-{dead}",
        "config.yaml",
        "seed0",
        "seed2.findna-lock",
        "thing.json",
    ]
