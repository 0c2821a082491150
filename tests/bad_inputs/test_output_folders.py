"""An output folder's life (issue 22; findna/folders, docs/reliability.md): --force keeps the
user's files, a killed or failed run is replaced without --force, two writers never mix."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from bad_input_kit import (
    LEGACY,
    SCRATCH,
    csv_text,
    embed_argv,
    export_argv,
    fasta_text,
    legacy_model_copy,
    probe_argv,
    task_folder,
    tree_hashes,
    write_files,
)

from findna.cli import main
from micro_pretrain import micro_config

NOTES = {"NOTES.txt": "my notes", "probe/probe.json": '{"mine": 1}'}
MANIFEST = ".findna-manifest.json"


def _add_notes(folder: Path) -> dict[str, str]:
    for name, text in NOTES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return {k: v for k, v in tree_hashes(folder).items() if k in NOTES}


def _micro_config(root: Path) -> Path:
    return micro_config(root, optim={"max_steps": 2}, run={"ckpt_every_n_steps": 2})


def _finetune(root: Path) -> list[str]:
    out = ["--out", str(root / "ft"), "--set", "epochs=1"]
    return ["finetune", "--task", str(root / "task"), *SCRATCH, *out]


FORCE_KEEPS = {
    # kind -> (make the existing output in root, argv that replaces it, its folder, a file of it)
    "prepared genome": (
        lambda root: (
            write_files(**{"a.fa": fasta_text(["r"]), "b.fa": fasta_text(["s"])})(root),
            main(["prepare", "genome", str(root / "a.fa"), "--out", str(root / "g")]),
        ),
        lambda root: ["prepare", "genome", str(root / "b.fa"), "--out", str(root / "g")],
        "g",
        "index.json",
    ),
    "export (no manifest: a 0.1.0 export)": (
        lambda root: shutil.copytree(LEGACY / "model", root / "m"),
        export_argv,
        "m",
        "model.safetensors",
    ),
    "export": (lambda root: main(export_argv(root)), export_argv, "m", "README.md"),
    "probe report": (
        lambda root: (task_folder({})(root), main(probe_argv()(root))),
        probe_argv(),
        "out",
        "probe.json",
    ),
    "probe report (no manifest: an earlier findna's)": (
        lambda root: (
            task_folder({})(root),
            main(probe_argv()(root)),
            (root / "out" / MANIFEST).unlink(),
        ),
        probe_argv(),
        "out",
        "probe.json",
    ),
    "finetune report": (
        lambda root: (task_folder({})(root), main(_finetune(root))),
        _finetune,
        "ft",
        "seed0/task.json",
    ),
    "pretraining run": (
        lambda root: main(["pretrain", "--config", str(_micro_config(root))]),
        lambda root: ["pretrain", "--config", str(root / "micro.yaml")],
        "run",
        "summary.json",
    ),
}


@pytest.mark.parametrize("kind", list(FORCE_KEEPS))
def test_force_keeps_the_users_files(kind: str, tmp_path: Path, capsys, caplog) -> None:
    """Issue 22 BAD 1: --force deleted a NOTES.txt and a probe/ report kept in the folder."""
    from findna.folders import read_manifest

    make, argv, name, own = FORCE_KEEPS[kind]
    make(tmp_path)
    folder = tmp_path / name
    assert (folder / own).is_file()
    mine = _add_notes(folder)
    before = tree_hashes(tmp_path)
    assert main(argv(tmp_path)) == 2  # without --force: refused, nothing changed
    assert "--force" in capsys.readouterr().err and tree_hashes(tmp_path) == before
    with caplog.at_level("INFO"):
        assert main([*argv(tmp_path), "--force"]) == 0, capsys.readouterr().err
    after = tree_hashes(folder)
    assert {k: after[k] for k in mine} == mine  # the user's files, byte for byte
    assert (folder / own).is_file() and read_manifest(folder)["complete"] is True
    assert "kept NOTES.txt, probe (not written by findna " in caplog.text
    assert not list(tmp_path.rglob("*.findna-lock")) and not list(tmp_path.rglob("*.tmp-*"))


def _big_task(root: Path, n: int = 1500) -> None:
    rng = np.random.default_rng(1)
    for split, rows in (("train", n), ("val", n // 5), ("test", n // 5)):
        body = ["".join(rng.choice(list("ACGT"), size=60)) + f",{i % 2}" for i in range(rows)]
        write_files(**{f"task__{split}.csv": csv_text(body)})(root)


def _manifest_of(folder: Path) -> dict:
    from findna.folders import read_manifest

    return read_manifest(folder) or {}


def test_a_killed_force_rerun_leaves_no_mix_and_is_replaced_without_force(
    tmp_path: Path, caplog
) -> None:
    """Issue 22 BAD 2: a SIGKILLed `probe --force` kept the old probe.json beside the new
    config.yaml. Now the old report goes first and the folder says it is unfinished."""
    import signal
    import subprocess
    import sys
    import time

    _big_task(tmp_path)
    out = tmp_path / "out"
    argv = ["probe", "--task", str(tmp_path / "task"), *SCRATCH, "--out", str(out), "--seeds"]
    assert main([*argv, "0", "--set", "epochs=2"]) == 0
    mine = _add_notes(out)
    old = {(p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    slow = [*argv, "0,1,2", "--set", "epochs=200", "--force"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "findna.cli", *slow],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if _manifest_of(out).get("pid") == proc.pid and (out / "config.yaml").is_file():
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    killed = tree_hashes(out)
    assert _manifest_of(out)["complete"] is False  # never a complete-looking mix
    assert not any((out / f"probe{s}").exists() for s in (".json", ".md", "_seeds.json"))
    survivors = [
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and (p.stat().st_ino, p.stat().st_mtime_ns) in old
    ]
    assert sorted(survivors) == sorted(mine)  # of the old run, only the user's files remain
    assert {k: killed[k] for k in mine} == mine
    with caplog.at_level("WARNING"):
        assert main([*argv, "0", "--set", "epochs=2"]) == 0  # no --force: it was unfinished
    warned = (
        r"WARNING .*out held an unfinished probe report \(killed or failed, pid "
        rf"{proc.pid}\); replacing it: removed .*config\.yaml.*kept NOTES\.txt"
    )
    assert re.search(warned, caplog.text), caplog.text
    after = tree_hashes(out)
    assert {k: after[k] for k in mine} == mine and _manifest_of(out)["complete"] is True
    assert (out / "probe.json").is_file() and not (out / ".findna-lock").exists()


def test_a_failed_probe_does_not_block_the_corrected_rerun(tmp_path: Path, capsys, caplog) -> None:
    """Issue 22 WEAK: a probe that failed on a mistyped model left config.yaml, and the corrected
    rerun was refused ("holds a probe report already")."""
    task_folder({})(tmp_path)
    legacy_model_copy(drop=True)(tmp_path)  # m/: a model that exists but fails to load
    argv = probe_argv()(tmp_path)
    typo = [a if a != "scratch" else str(tmp_path / "typo") for a in argv]
    before = tree_hashes(tmp_path)
    assert main(typo) == 2  # a mistyped model is found before anything is written
    assert "typo' does not exist" in capsys.readouterr().err and tree_hashes(tmp_path) == before
    broken = argv[: argv.index("--model")] + ["--model", str(tmp_path / "m")] + argv[-4:]
    assert main(broken) == 2  # fails while loading: the folder is left unfinished
    assert "missing" in capsys.readouterr().err
    assert _manifest_of(tmp_path / "out")["complete"] is False
    with caplog.at_level("WARNING"):
        assert main(argv) == 0  # the corrected rerun, without --force
    assert "out held an unfinished probe report" in caplog.text
    assert _manifest_of(tmp_path / "out")["complete"] is True


def test_an_embed_output_that_appears_meanwhile_is_kept(tmp_path: Path, capsys, monkeypatch):
    """Issue 22 WEAK: two `embed` runs to one --out both exited 0, one replacing the other. The
    check and the rename are now one step (and the output is locked while it is written)."""
    from findna.eval import embed_io

    write_files(**{"a.fa": fasta_text(["r0", "r1"])})(tmp_path)
    real_close = embed_io.NpyWriter.close

    def other_run_finishes_first(self):
        (tmp_path / "out.npy").write_bytes(b"the other run's output")
        assert self.out.with_name("out.npy.findna-lock").is_file()  # held while writing
        real_close(self)

    monkeypatch.setattr(embed_io.NpyWriter, "close", other_run_finishes_first)
    assert main(embed_argv("a.fa")(tmp_path)) == 2
    assert re.search(r"out\.npy appeared while this command ran .*kept", capsys.readouterr().err)
    assert (tmp_path / "out.npy").read_bytes() == b"the other run's output"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fa", "out.npy"]


def test_benchmark_force_keeps_the_users_files(tmp_path: Path, capsys, caplog) -> None:
    """`benchmark` resumes without --force; --force removes only what a benchmark writes."""
    task_folder({})(tmp_path)
    argv = ["benchmark", "--suite", str(tmp_path / "task"), "--models", "scratch", "--seeds", "0"]
    argv += ["--out", str(tmp_path / "b"), "--set", "probe.epochs=2"]
    for setting in ("track_size=4", "hidden=16", "n_layers=1"):
        argv += ["--set", f"scratch_model.{setting}"]
    assert main(argv) == 0
    out = tmp_path / "b"
    mine = _add_notes(out)
    old_log = (out / "results.jsonl").read_bytes()
    with caplog.at_level("INFO"):
        assert main([*argv, "--force"]) == 0, capsys.readouterr().err
    after = tree_hashes(out)
    assert {k: after[k] for k in mine} == mine
    assert "removed cache, comparison.pdf, comparison.png, config.yaml, predictions" in caplog.text
    assert "kept NOTES.txt, probe (not written by findna " in caplog.text
    assert (out / "results.jsonl").read_bytes() != old_log  # a new log, not the resumed one
    assert _manifest_of(out)["complete"] is True
