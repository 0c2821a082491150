"""The files of ``findna embed``: ``.npy`` + ``.ids.txt`` + ``.meta.json``, or ``.parquet``
(ids as a column, the metadata in the file's schema), written chunk by chunk and atomically.

The metadata says what made the features: findna version, model source and weights id, network
(teacher or student), pooling and feature settings, input file, rows and width.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from findna.folders.lock import appeared, lock_file, rename_no_clobber, unlock_file
from findna.outputs import remove_stale_temps, temp_path

META_KEY = b"findna"  # the Parquet schema metadata key of the metadata JSON


@dataclass
class EmbedResult:
    """What :func:`findna.eval.embed.embed_file` wrote (``findna.embed_to_file`` returns it).

    Attributes:
        out: the output file, ``.npy`` (an (N, D) float32 array) or ``.parquet``.
        ids: the ``.ids.txt`` beside a ``.npy`` (one id per line, in row order); None for a
            ``.parquet``, whose rows carry their ids.
        rows: rows written: N, one per sequence (with ``per_token``, one per token).
        dim: D, the features per row.
        model_id: the weights' id (:func:`findna.model.loading.load_encoder`).
    """

    out: Path
    ids: Path | None
    rows: int
    dim: int
    model_id: str


def meta_path(out: Path) -> Path:
    """The metadata sidecar of an ``.npy`` output: ``emb.npy`` -> ``emb.meta.json``."""
    return out.with_suffix(".meta.json")


def output_files(out: Path) -> list[Path]:
    """Every file an output of ``findna embed`` consists of (checked before writing)."""
    return [out, ids_path(out), meta_path(out)] if out.suffix.lower() == ".npy" else [out]


def ids_path(out: Path) -> Path:
    """The id sidecar of an ``.npy`` output: ``emb.npy`` -> ``emb.ids.txt``."""
    return out.with_suffix(".ids.txt")


def _place(tmp: Path, target: Path, force: bool) -> None:
    """Rename ``tmp`` to ``target``; without ``force``, only if ``target`` still does not exist
    (checked and renamed in one step: a file that appeared meanwhile is kept)."""
    if force:
        os.replace(tmp, target)
    else:
        rename_no_clobber(tmp, target)


class NpyWriter:
    """Appends chunks to a raw temporary file, then writes ``.npy`` + ids atomically.

    The output is locked (``OUT.findna-lock``, :mod:`findna.folders`) from the start to
    :meth:`close` or :meth:`abort`: a second run to the same ``out`` fails at once.
    """

    def __init__(self, out: Path, dim: int, meta: dict[str, Any], *, force: bool = False) -> None:
        lock_file(out)
        self.out, self.dim, self.rows, self.meta, self.force = out, dim, 0, meta, force
        for target in output_files(out):
            remove_stale_temps(target)
        self.raw = temp_path(out, ".raw")
        self.ids = temp_path(ids_path(out))
        self.raw_f = open(self.raw, "wb")  # noqa: SIM115 (closed in close/abort)
        self.ids_f = open(self.ids, "w")  # noqa: SIM115

    def write(self, ids: list[str], feats: np.ndarray) -> None:
        self.raw_f.write(np.ascontiguousarray(feats, dtype="<f4").tobytes())
        self.ids_f.writelines(f"{i}\n" for i in ids)
        self.rows += len(ids)

    def close(self) -> None:
        self.raw_f.close()
        self.ids_f.close()
        tmp = temp_path(self.out, ".npy")
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype="<f4", shape=(self.rows, self.dim))
        step = max(1, (64 << 20) // (4 * self.dim))
        with open(self.raw, "rb") as f:
            for start in range(0, self.rows, step):
                n = min(step, self.rows - start)
                arr[start : start + n] = np.fromfile(f, dtype="<f4", count=n * self.dim).reshape(
                    n, self.dim
                )
        arr.flush()
        del arr
        meta_tmp = temp_path(meta_path(self.out))
        meta_tmp.write_text(json.dumps({**self.meta, "rows": self.rows}, indent=1) + "\n")
        if not self.force:  # all three still free, before any is placed
            for target in output_files(self.out):
                if target.exists():
                    raise appeared(target)
        _place(tmp, self.out, self.force)
        _place(self.ids, ids_path(self.out), self.force)
        _place(meta_tmp, meta_path(self.out), self.force)
        self.raw.unlink()
        unlock_file(self.out)

    def abort(self) -> None:
        self.raw_f.close()
        self.ids_f.close()
        for p in (self.raw, self.ids, temp_path(self.out, ".npy"), temp_path(meta_path(self.out))):
            p.unlink(missing_ok=True)
        unlock_file(self.out)


class ParquetWriter:
    """Writes one row group per chunk to a temporary file, renamed on close. With ``per_token``
    a row is one token: columns ``id``, ``position`` (0-based), ``f0``..``f{D-1}``."""

    def __init__(
        self,
        out: Path,
        dim: int,
        meta: dict[str, Any],
        per_token: bool = False,
        *,
        force: bool = False,
    ) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        lock_file(out)  # as NpyWriter: one run per output at a time
        self.pa, self.out, self.rows, self.per_token, self.force = pa, out, 0, per_token, force
        remove_stale_temps(out)
        self.tmp = temp_path(out)
        fields = [pa.field("id", pa.string())]
        fields += [pa.field("position", pa.int32())] if per_token else []
        fields += [pa.field(f"f{i}", pa.float32()) for i in range(dim)]
        # The row count is unknown until the end; readers count the rows of the file.
        self.schema = pa.schema(fields, metadata={META_KEY: json.dumps(meta)})
        self.writer = pq.ParquetWriter(self.tmp, self.schema)

    def write(self, ids: list[str], feats: np.ndarray, positions: np.ndarray | None = None) -> None:
        cols = [self.pa.array(ids, self.pa.string())]
        if self.per_token:
            cols.append(self.pa.array(positions, self.pa.int32()))
        cols += [self.pa.array(feats[:, i]) for i in range(feats.shape[1])]
        self.writer.write_table(self.pa.Table.from_arrays(cols, schema=self.schema))
        self.rows += len(ids)

    def close(self) -> None:
        self.writer.close()
        try:
            _place(self.tmp, self.out, self.force)
        finally:
            unlock_file(self.out)

    def abort(self) -> None:
        self.writer.close()
        self.tmp.unlink(missing_ok=True)
        unlock_file(self.out)


def read_embeddings(path: str | Path) -> tuple[list[str], np.ndarray]:
    """``(ids, features (N, D) float32)`` from an ``.npy`` (+ ids sidecar) or ``.parquet``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"embeddings file {path} does not exist")
    if path.suffix.lower() == ".parquet":
        import pandas as pd

        frame = pd.read_parquet(path)
        return frame["id"].tolist(), frame.drop(columns="id").to_numpy(dtype=np.float32)
    feats = np.load(path)
    sidecar = ids_path(path)
    ids = (
        sidecar.read_text().splitlines()
        if sidecar.is_file()
        else [str(i) for i in range(len(feats))]
    )
    return ids, feats


def read_embedding_metadata(path: str | Path) -> dict[str, Any]:
    """What made an embeddings file (empty for files written before findna recorded it)."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        meta = pq.read_schema(path).metadata or {}
        return json.loads(meta[META_KEY]) if META_KEY in meta else {}
    sidecar = meta_path(path)
    return json.loads(sidecar.read_text()) if sidecar.is_file() else {}


__all__ = [
    "NpyWriter",
    "ParquetWriter",
    "ids_path",
    "meta_path",
    "output_files",
    "read_embedding_metadata",
    "read_embeddings",
]
