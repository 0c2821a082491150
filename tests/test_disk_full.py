"""A real full disk (issue 22): a small tmpfs that fills up while findna writes.

tests/bad_inputs simulates ENOSPC on every machine; here, where the machine lets the test
mount a tmpfs (root, Linux), the disk really fills: the command stops with a named error, the old
output stays byte for byte, and no temporary or lock is left behind.
"""

import hashlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from findna.cli import main

SCRATCH = ["--model", "scratch", "--scratch-model", "tiny"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs, unmounted afterwards; skipped where mounting is not allowed."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)]
    if subprocess.run(mount, capture_output=True).returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def _fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` up to ``leave`` free bytes."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    (disk / "filler").write_bytes(b"\0" * max(0, free - leave))


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _fasta(path: Path, n: int, length: int) -> Path:
    rng = np.random.default_rng(0)
    seqs = ("".join(rng.choice(list("ACGT"), length)) for _ in range(n))
    path.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(seqs)))
    return path


def test_embed_on_a_full_disk_keeps_the_old_output(tmp_path, small_disk, capsys):
    fasta = _fasta(tmp_path / "in.fa", 400, 40)
    out = small_disk / "out.npy"
    assert (
        main(["embed", str(_fasta(tmp_path / "one.fa", 2, 40)), "--out", str(out), *SCRATCH]) == 0
    )
    _fill(small_disk, leave=16 * 1024)  # 400 x 40 float32 features need 64 KiB
    before = _hashes(small_disk)
    code = main(["embed", str(fasta), "--out", str(out), *SCRATCH, "--force"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "findna: error:" in err and "the disk is full" in err and "Traceback" not in err
    assert str(out.name) in err
    assert _hashes(small_disk) == before  # the old output whole; no temporary, no lock


def test_prepare_on_a_full_disk_keeps_the_old_genome(tmp_path, small_disk, capsys):
    genome = _fasta(tmp_path / "g.fa", 4, 2000)
    out = small_disk / "prepared"
    assert (
        main(["prepare", "genome", str(_fasta(tmp_path / "s.fa", 1, 500)), "--out", str(out)]) == 0
    )
    _fill(small_disk, leave=4 * 1024)  # the genome's 8,000 bases do not fit
    before = _hashes(small_disk)
    code = main(["prepare", "genome", str(genome), "--out", str(out), "--force"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "findna: error:" in err and "the disk is full" in err and "Traceback" not in err
    assert _hashes(small_disk) == before
