"""``findna embed`` and ``findna plot-embeddings``: features of a sequence file or a task split.

Inputs of :func:`embed_file` (chosen by suffix, ``.gz`` allowed):

- FASTA (``.fa``, ``.fasta``, ``.fna``, ``.fas``): ids are the record names;
- CSV/TSV (``.csv``, ``.tsv``): a header line; the sequence column is ``sequence`` or ``seq``,
  ids come from an ``id`` or ``name`` column when present, else ``<file>:<data row>``. Column
  detection, separators and DNABERT k-mer rows (space-separated overlapping k-mers, decoded to
  bases) follow :func:`findna.data.readers.read_table`, so any table ``findna finetune`` reads
  can be embedded or predicted; the k-mer decision is made on the first chunk of rows;
- plain text (``.txt``, ``.seq``): one sequence per line, blank lines skipped, ids
  ``<file>:<line>``.

Outputs (chosen by the suffix of ``out``):

- ``.npy``: an (N, D) float32 array, plus the ids one per line in ``<stem>.ids.txt`` and what
  made them in ``<stem>.meta.json`` beside it (``np.load(out)``;
  ``Path(...).read_text().splitlines()``);
- ``.parquet``: columns ``id`` (string) and ``f0`` .. ``f{D-1}`` (float32), one row per sequence
  (``df = pd.read_parquet(out); x = df.drop(columns="id").to_numpy()``), the metadata in the
  schema.

:func:`findna.eval.embed_io.read_embeddings` reads either back, and
:func:`~findna.eval.embed_io.read_embedding_metadata` the metadata (model id, network, pooling,
findna version). Sequences are streamed in chunks of ``chunk_size``
(features go to disk chunk by chunk), so memory does not grow with the input.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from findna.config import config_to_dict
from findna.data.alphabet import OnInvalid, encode
from findna.data.kmers import decode_kmers, detect_kmers, sequence_space_error
from findna.data.readers import (
    check_frame,
    check_unique_ids,
    data_row,
    find_sequence_column,
    require_column,
)
from findna.data.table_files import table_errors, table_separator
from findna.eval.embed_io import (
    EmbedResult,
    NpyWriter,
    ParquetWriter,
    ids_path,
    output_files,
)
from findna.eval.features import (
    FeatureConfig,
    extract_features,
    feature_dim,
    iter_feature_chunks,
    iter_token_states,
)
from findna.eval.length_rule import scan_lengths, tokens_for_inputs
from findna.figures import check_figure_path
from findna.folders import check_file_not_busy
from findna.model.config import ModelConfig
from findna.model.loading import default_model_name, load_encoder
from findna.outputs import check_output_file, require_file
from findna.version import __version__

if TYPE_CHECKING:
    from findna.data.tasks import TaskSpec

log = logging.getLogger(__name__)

FASTA_SUFFIXES = (".fa", ".fasta", ".fna", ".fas")
TABLE_SUFFIXES = (".csv", ".tsv")
TEXT_SUFFIXES = (".txt", ".seq")
OUTPUT_SUFFIXES = (".npy", ".parquet")
ID_COLUMNS = ("id", "name")


def input_format(path: Path) -> str:
    """``"fasta"``, ``"table"`` or ``"text"`` from the suffix (a final ``.gz`` ignored)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    for kind, known in (("fasta", FASTA_SUFFIXES), ("table", TABLE_SUFFIXES)):
        if last in known:
            return kind
    if last in TEXT_SUFFIXES:
        return "text"
    raise ValueError(
        f"{path}: unknown input type {last or '(no suffix)'!r}; use FASTA "
        f"({', '.join(FASTA_SUFFIXES)}), CSV/TSV ({', '.join(TABLE_SUFFIXES)}) or plain text "
        f"with one sequence per line ({', '.join(TEXT_SUFFIXES)}), optionally .gz"
    )


def _table_records(
    path: Path, on_invalid: OnInvalid, rows: int, sequence_column: str | None = None
) -> Iterator[tuple[str, np.ndarray]]:
    import pandas as pd

    sep = table_separator(path)
    with table_errors(path, sep):
        reader = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, na_filter=False, chunksize=rows
        )
        kmer: bool | None = None
        k: int | None = None
        row = 0
        seen_ids: dict[str, int] = {}
        for frame in reader:
            frame.columns = [str(c).strip() for c in frame.columns]
            if kmer is None:  # the columns, found in the first chunk
                if sequence_column is not None:
                    require_column(path, frame, sequence_column, "sequence")
                    seq_col = sequence_column
                else:
                    seq_col = find_sequence_column(
                        path, list(frame.columns), "Rename the sequence column to 'sequence'."
                    )
                id_col = next((c for c in ID_COLUMNS if c in frame.columns), None)
            check_frame(path, frame, sep, [seq_col], first=row)
            ids = frame[id_col].tolist() if id_col else [None] * len(frame)
            seqs = frame[seq_col].str.strip().tolist()
            first_row = row

            def where(i: int, first_row: int = first_row) -> str:
                return data_row(path, first_row + i)

            if id_col:
                check_unique_ids(path, ids, lambda i: data_row(path, i), seen_ids, first=row)

            if kmer is None:  # decided on the first chunk, as read_table decides on the file
                kmer = detect_kmers(seqs, where)
                if kmer:
                    k = next((len(s.split()[0]) for s in seqs if s), None)
            for i, (rid, seq) in enumerate(zip(ids, seqs, strict=True)):
                row += 1
                if not seq:
                    raise ValueError(f"{where(i)}: empty sequence; remove the row")
                if kmer:
                    seq = decode_kmers(seq, source=where(i), k=k)
                elif " " in seq:
                    raise sequence_space_error(
                        where(i), seq, "the file's first rows are plain sequences, not k-mers"
                    )
                yield (
                    (rid if rid is not None else f"{path.name}:{row}"),
                    encode(seq, on_invalid=on_invalid, source=where(i)),
                )


def _text_records(path: Path, on_invalid: OnInvalid) -> Iterator[tuple[str, np.ndarray]]:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rt", encoding="latin-1") as f:
        for line_no, line in enumerate(f, start=1):
            seq = line.strip()
            if seq:
                where = f"{path}, line {line_no}"
                yield f"{path.name}:{line_no}", encode(seq, on_invalid=on_invalid, source=where)


def _write_tokens(
    writer: ParquetWriter,
    states: Iterator[np.ndarray],
    ids: list[str],
    rows: int,
    progress: bool,
) -> None:
    """Rows of (id, position, state) of each sequence, written about ``rows`` tokens at a time;
    ``ids`` fills as the sequences are read, in the order of ``states``."""
    from tqdm import tqdm

    block: list[tuple[str, np.ndarray]] = []
    size = 0
    for tokens in tqdm(states, unit="seq", desc="token states", disable=not progress):
        block.append((ids.pop(0), tokens))
        size += len(tokens)
        if size >= rows:
            _flush_tokens(writer, block)
            block, size = [], 0
    if block:
        _flush_tokens(writer, block)


def _flush_tokens(writer: ParquetWriter, block: list[tuple[str, np.ndarray]]) -> None:
    ids = [rid for rid, t in block for _ in range(len(t))]
    positions = np.concatenate([np.arange(len(t), dtype=np.int32) for _, t in block])
    writer.write(ids, np.concatenate([t for _, t in block]), positions)


def read_sequences(
    path: str | Path,
    *,
    on_invalid: OnInvalid = "error",
    table_rows: int = 10000,
    sequence_column: str | None = None,
) -> Iterator[tuple[str, np.ndarray]]:
    """Stream ``(id, codes)`` from a FASTA, CSV/TSV or text file (see the module docstring);
    ``sequence_column`` names a table's sequence column (default ``sequence`` or ``seq``).

    Raises:
        FileNotFoundError: no such file.
        ValueError: unknown suffix, missing sequence column, empty sequence or invalid
            character, naming the file and record/row/line.
    """
    kind = input_format(Path(path))
    path = require_file(path, "input file")
    if kind == "fasta":
        from findna.data.fasta import read_fasta

        return ((r.name, r.codes) for r in read_fasta(path, on_invalid=on_invalid))
    if kind == "table":
        return _table_records(path, on_invalid, table_rows, sequence_column)
    return _text_records(path, on_invalid)


def embed_file(
    input_path: str | Path,
    source: str | Path,
    out: str | Path,
    cfg: FeatureConfig | None = None,
    *,
    which: str = "teacher",
    max_len: int | None = None,
    length_mode: str = "length_aware",
    chunk_size: int = 4096,
    on_invalid: OnInvalid = "error",
    scratch_config: ModelConfig | None = None,
    seed: int = 0,
    force: bool = False,
    progress: bool = True,
    per_token: bool = False,
) -> EmbedResult:
    """Write the pooled features of every sequence of ``input_path`` to ``out``, or with
    ``per_token`` each token's hidden state (a ``.parquet`` row per token: id, position, f*).

    Args:
        input_path: FASTA, CSV/TSV or text file (see the module docstring).
        source: model source (see :func:`findna.model.loading.load_encoder`).
        out: ``.npy`` (plus ``.ids.txt``) or ``.parquet``.
        cfg: feature settings (default ``FeatureConfig()``).
        which, length_mode, scratch_config, seed: passed to ``load_encoder``.
        max_len: the network's length in tokens; None: the longest input plus the CLS rows (the
            input is read once for its lengths first; docs/reliability.md, "The length rule").
        chunk_size: sequences held in memory at once.
        on_invalid: ``"error"`` or ``"n"`` for characters outside the DNA alphabet.
        force: replace an existing output.
        progress: tqdm bar on stderr.

    Raises:
        FileExistsError: ``out`` exists and ``force`` is False.
        ValueError: bad input (see :func:`read_sequences`) or an unknown output suffix.
    """
    cfg = (cfg or FeatureConfig()).for_source(source, which)
    input_path, out = Path(input_path), Path(out)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise ValueError(f"{out}: output must end in {' or '.join(OUTPUT_SUFFIXES)}")
    if per_token and out.suffix.lower() != ".parquet":
        raise ValueError(f"{out}: per-token embeddings are a row per token; give a .parquet --out")
    for target in output_files(out):
        check_output_file(target, force=force, inputs=[input_path])
    check_file_not_busy(out)  # another run writing it: fail now, not after the model loads
    lengths = scan_lengths(read_sequences(input_path, on_invalid=on_invalid))  # the length rule
    if lengths.count == 0:
        raise ValueError(f"{input_path}: no sequences found")
    tokens = tokens_for_inputs(lengths, 0 if per_token else cfg.cls_tokens, max_len, input_path)
    records = read_sequences(input_path, on_invalid=on_invalid)
    net, model_id = load_encoder(
        source,
        which=which,
        max_len=tokens,
        length_mode=length_mode,
        seed=seed,
        scratch_config=scratch_config,
    )
    dim = net.config.width if per_token else feature_dim(net, cfg)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "findna_version": __version__,
        "model_source": str(source),
        "model_id": model_id,
        "network": which,
        "features": config_to_dict(cfg),
        "input": str(input_path),
        "dim": dim,
        "per_token": per_token,
    }
    if per_token:
        writer = ParquetWriter(out, dim, meta, per_token=True, force=force)
    else:
        kind = NpyWriter if out.suffix.lower() == ".npy" else ParquetWriter
        writer = kind(out, dim, meta, force=force)
    pending: list[str] = []

    def codes() -> Iterator[np.ndarray]:
        for rid, c in records:
            if "\n" in rid or "\r" in rid:
                raise ValueError(f"{input_path}: id {rid!r} contains a line break")
            pending.append(rid)
            yield c

    try:
        if per_token:
            states = iter_token_states(net, codes(), cfg)
            _write_tokens(writer, states, pending, chunk_size, progress)
        else:
            for feats in iter_feature_chunks(net, codes(), cfg, chunk_size, progress=progress):
                writer.write(pending[: len(feats)], feats)
                del pending[: len(feats)]
        if writer.rows == 0:
            raise ValueError(f"{input_path}: no sequences found")
        writer.close()
    except BaseException:
        writer.abort()
        raise
    what = f"{lengths.count} sequence(s)" + (f", {writer.rows} token rows" if per_token else "")
    log.info("%s: %s -> %s (%d features each)", input_path, what, out, dim)
    is_npy = out.suffix.lower() == ".npy"
    return EmbedResult(out, ids_path(out) if is_npy else None, writer.rows, dim, model_id)


def plot_task_embeddings(
    task_name: str | TaskSpec,
    source: str | Path,
    out_png: str | Path,
    *,
    split: str = "test",
    cfg: FeatureConfig | None = None,
    which: str = "teacher",
    split_seed: int = 0,
    method: str = "tsne",
    max_points: int = 5000,
    num_threads: int | None = None,
    scratch_config: ModelConfig | None = None,
    model_name: str | None = None,
    on_invalid: OnInvalid = "error",
    target: str | None = None,
) -> Path:
    """t-SNE (or PCA) map of one split's frozen features, coloured by label (a regression
    target's value, a multi-label label's 0/1: ``target``, default the first; a per-base task is
    refused, :mod:`findna.eval.task_maps`); returns the PNG.

    ``task_name``: a registered name or a ``TaskSpec`` (a path: ``user_tasks.resolve_task``);
    ``split_seed`` seeds its random splits and the map's subsample/projection. The title names
    the model by ``model_name`` (default: the run or export folder's name, as in reports).
    ``on_invalid``: how the task's characters outside the DNA alphabet are read.
    """
    from findna.data.tasks import load_task, task_max_len
    from findna.eval.task_maps import map_colouring, plot_task_map

    cfg = (cfg or FeatureConfig()).for_source(source, which)
    task = load_task(task_name, seed=split_seed, on_invalid=on_invalid)
    colouring = map_colouring(task.spec, target)  # before the features, which take a while
    check_figure_path(out_png)
    if split not in task.splits():
        raise ValueError(f"split must be train, val or test, got {split!r}")
    part = task.splits()[split]
    net, _ = load_encoder(
        source,
        which=which,
        max_len=task_max_len(task, cfg.cls_tokens),
        scratch_config=scratch_config,
    )
    x = extract_features(net, part.seqs, cfg, progress=True)
    name = model_name or default_model_name(source, which)
    title = f"{task.spec.name} {split}: {method} of {cfg.pooling} features of {name}"
    title += f", coloured by {colouring.name}" if colouring.name else ""
    plot_task_map(
        x,
        part.labels,
        task.spec,
        colouring,
        out_png,
        method=method,
        max_points=max_points,
        title=title,
        num_threads=num_threads,
        seed=split_seed,
    )
    return Path(out_png)


__all__ = [
    "EmbedResult",
    "embed_file",
    "input_format",
    "plot_task_embeddings",
    "read_sequences",
]
