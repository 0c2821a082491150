"""Reading a user's table file: its field separator by suffix, and the errors of reading it
(empty, unparsable, gzip trouble, not UTF-8) as ValueErrors that name the file and the fix."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from findna.data.fasta import is_gzip


def table_separator(path: Path) -> str:
    """Tab for ``.tsv``/``.txt`` files (also ``.tsv.gz``), else comma."""
    return "\t" if {".tsv", ".txt"} & {x.lower() for x in path.suffixes} else ","


@contextmanager
def table_errors(path: Path, sep: str) -> Iterator[None]:
    """Turn pandas' empty-file, parse, text-encoding and gzip errors in the block into
    ValueErrors naming ``path``; a ``.gz`` file that is not gzip, or a gzip file without the
    ``.gz``, is refused before reading."""
    kind = "TSV" if sep == "\t" else "CSV"
    gz = path.suffix.lower() == ".gz"
    if gz and path.is_file() and not is_gzip(path):
        raise ValueError(
            f"{path}: named .gz but not gzip-compressed. Compress it (`gzip FILE`) or drop the "
            "'.gz' from its name."
        )
    if not gz and path.is_file() and is_gzip(path):
        raise ValueError(
            f"{path}: gzip-compressed, but its name does not end in .gz. Rename it to "
            f"{path.name}.gz, or decompress it (`gunzip -c FILE > NEW`)."
        )
    try:
        yield
    except EOFError:
        raise ValueError(
            f"{path}: the gzip stream ends early (truncated file?). Download or copy it again; "
            "`gzip -t FILE` checks a gzip file."
        ) from None
    except (gzip.BadGzipFile, zlib.error) as err:
        raise ValueError(
            f"{path}: corrupt gzip data ({err}). `gzip -t FILE` checks a gzip file."
        ) from None
    except UnicodeDecodeError as err:
        utf16 = err.start < 2 and bytes(err.object[:2]) in (b"\xff\xfe", b"\xfe\xff")  # a BOM
        byte = err.object[err.start : err.start + 1].hex()
        latin1 = f"not UTF-8 text (byte 0x{byte} is not UTF-8; a Latin-1 or Excel export?)"
        what, code = (
            ("UTF-16 text (Excel's 'Unicode Text'?)", "utf-16") if utf16 else (latin1, "latin1")
        )
        raise ValueError(
            f"{path}: {what}. Save the file as UTF-8 (e.g. `iconv -f {code} -t utf-8 FILE > NEW`)."
        ) from None
    except pd.errors.EmptyDataError:
        raise ValueError(
            f"{path}: file is empty; expected a header line and data rows ({kind})"
        ) from None
    except pd.errors.ParserError as err:
        raise ValueError(
            f"{path}: cannot be parsed as {kind} ({err}). Every row needs as many fields as the "
            "header (pandas counts the header as line 1)."
        ) from None


def table_header(path: Path) -> list[str]:
    """The column names of the table ``path`` (stripped), reading its header line only."""
    sep = table_separator(path)
    with table_errors(path, sep):
        return list(pd.read_csv(path, sep=sep, nrows=0).columns.str.strip())


def read_column(path: Path, name: str) -> pd.Series | None:
    """Column ``name`` of the table ``path`` as text (cells as written, empty ones ``""``), or
    None when its header has no such column; headers are compared stripped."""
    if name not in table_header(path):
        return None
    sep = table_separator(path)
    with table_errors(path, sep):
        frame = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, usecols=lambda c: c.strip() == name
        )
    return frame.iloc[:, 0]


__all__ = ["read_column", "table_errors", "table_header", "table_separator"]
