"""What the user is told besides the bad-input cases: the rule that names a file-system error's
file and cause, and the count an embedding logs."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import pandas as pd
from bad_input_kit import embed_argv, random_seq, write_files
from safetensors import SafetensorError

from findna.cli import main


def test_per_token_embed_logs_sequences_and_token_rows(tmp_path: Path, caplog) -> None:
    """Issue 22 WEAK: `embed --per-token` on one 300 kbp sequence logged "300000 sequences"."""
    write_files(**{"a.fa": f">r\n{random_seq(300)}\n"})(tmp_path)
    with caplog.at_level("INFO"):
        assert main(embed_argv("a.fa", "out.parquet", "--per-token")(tmp_path)) == 0
    assert re.search(r"a\.fa: 1 sequence\(s\), 300 token rows -> \S*out\.parquet", caplog.text)
    assert pd.read_parquet(tmp_path / "out.parquet").shape[0] == 300


def test_file_system_errors_name_the_file_and_what_happened(tmp_path: Path) -> None:
    """The rule behind the disk-full and unreadable cases (findna.cli.file_system_error)."""
    from argparse import Namespace

    from findna.cli import as_os_error, file_system_error

    args = Namespace(input=str(tmp_path / "a.fa"), out=str(tmp_path / "o.npy"))
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "o.npy.tmp-12.raw"))
    assert file_system_error(full, args).startswith(f"cannot write {tmp_path}/o.npy: the disk")
    read_only = file_system_error(OSError(errno.EROFS, "Read-only file system"), args)
    assert read_only.startswith(f"cannot write {tmp_path}/o.npy: the file system is read-only")
    assert "Choose an --out in a folder you may write to" in read_only
    denied = file_system_error(PermissionError(errno.EACCES, "Permission denied"), args)
    assert denied.startswith("permission denied on a file this command reads or writes")
    (tmp_path / "a.fa").write_text(">r\nACGT\n")  # an input: read, even when root may read it
    read = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "a.fa"))
    assert file_system_error(read, args).startswith(f"cannot read {tmp_path}/a.fa: permission")
    rust = SafetensorError("I/O error: Disk quota exceeded (os error 122)")
    assert "your disk quota is used up" in file_system_error(as_os_error(rust), args)
    assert file_system_error(as_os_error(OSError(errno.EIO, "I/O error")), args) is None
    assert as_os_error(ValueError("x")) is None
