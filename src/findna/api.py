"""The Python API: findna's commands as functions with the CLI's names and defaults.

``import findna`` gives these names lazily (importing findna stays fast; torch loads on first
use). Each is a thin layer over the module the CLI calls, so settings, checks and outputs are the
same; docs/api.md shows each with an example that CI runs.

Settings are passed as a preset name (``config``, as ``--config``) and/or a mapping of
``key: value`` (as ``--set key=value``, nested keys with dots or nested mappings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from findna.config import load_config, preset_path
from findna.data.tasks import TaskData
from findna.data.tasks import load_task as _load_task
from findna.data.user_tasks import resolve_task
from findna.eval.benchmark import BenchmarkConfig, run_benchmark
from findna.eval.embed import EmbedResult, embed_file
from findna.eval.features import FeatureConfig, extract_features, iter_token_states
from findna.eval.finetune import finetune_task
from findna.eval.finetune_config import FinetuneConfig
from findna.eval.predict import predict_proba
from findna.eval.probe import ProbeConfig, probe_task
from findna.eval.report import BenchmarkReport, check_report_dir
from findna.eval.variants import VariantScoreConfig
from findna.eval.variants_file import ScoreVariantsResult, score_variants_file
from findna.model.classifier import load_classifier
from findna.model.config import ModelConfig
from findna.model.inputs import encode_sequences
from findna.model.loading import load_encoder
from findna.model.network import FinDNANetwork
from findna.train.config import PretrainConfig
from findna.train.pretrain import PretrainResult, run_pretrain

T = TypeVar("T")
Settings = Mapping[str, Any] | None


def _settings(cls: type[T], kind: str, config: str | Path | None, settings: Settings) -> T:
    """``cls`` defaults <- preset ``config`` <- ``settings`` (as the CLI's ``--set``)."""
    flat: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}{k}.", v)
        else:
            flat.append(f"{prefix[:-1]}={_yaml(value)}")

    walk("", dict(settings or {}))
    path = preset_path(kind, config) if config is not None else None
    return load_config(cls, path, flat)


def _yaml(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...")


def _scratch(scratch: str | ModelConfig | None) -> ModelConfig | None:
    if scratch is None or isinstance(scratch, ModelConfig):
        return scratch
    return load_config(ModelConfig, preset_path("model", scratch))


def load_model(
    source: str | Path,
    *,
    which: str = "teacher",
    max_len: int | None = None,
    scratch: str | ModelConfig | None = None,
    seed: int = 0,
) -> FinDNANetwork:
    """A pretrained network (eval mode, CPU) from a run folder, an export, a ``.ckpt``, or
    ``"scratch"`` (a random network of the ``scratch`` architecture: a preset name such as
    ``"tiny"`` or a ModelConfig; default the paper's).

    ``which``: ``teacher`` (the downstream default) or ``student``. ``max_len``: the longest
    input in tokens the network is built for (None: as stored); longer inputs than pretraining
    add fresh blocks, as for the CLI (logged at WARNING).
    """
    net, _ = load_encoder(
        source, which=which, max_len=max_len, seed=seed, scratch_config=_scratch(scratch)
    )
    return net


def encode(seqs: Sequence[str]) -> list[np.ndarray]:
    """DNA strings -> uint8 codes (A 0, C 1, G 2, T 3, N and IUPAC 4), the networks' input.

    Raises ValueError naming the sequence and position of a character that is not DNA.
    """
    return encode_sequences(list(seqs))


def embed(
    model: FinDNANetwork | str | Path,
    seqs: Sequence[str],
    *,
    pooling: str = "masked_mean",
    rc_average: bool = False,
    batch_size: int = 64,
    device: str = "auto",
    progress: bool = False,
    per_token: bool = False,
) -> np.ndarray | list[np.ndarray]:
    """Pooled features of sequences in memory: an (N, d) float32 array (2d for ``mean+cls``),
    or with ``per_token`` one (L_i, d) array of token states per sequence.

    ``model``: a network from :func:`load_model`, or a source it takes. ``pooling``:
    ``masked_mean`` (mean over real tokens), ``mean``, ``cls`` or ``mean+cls``. Files of any
    size go through :func:`embed_to_file` instead (streamed, with ids).
    """
    cfg = FeatureConfig(
        pooling=pooling, rc_average=rc_average, batch_size=batch_size, device=device
    )
    if isinstance(model, FinDNANetwork):  # its CLS rows: the paper's 10 (nothing else says)
        net = model
    else:
        net, cfg = load_model(model), cfg.for_source(model, "teacher")
    if per_token:
        return list(iter_token_states(net, list(seqs), cfg))
    return extract_features(net, list(seqs), cfg, progress=progress)


def embed_to_file(
    input_path: str | Path, model: str | Path, out: str | Path, **options: Any
) -> EmbedResult:
    """``findna embed INPUT --model MODEL --out OUT``: features of every sequence of a FASTA,
    CSV/TSV or text file to ``.npy`` (+ ``.ids.txt``) or ``.parquet``; ``options`` are
    :func:`findna.eval.embed.embed_file`'s (``cfg``, ``which``, ``force``, ...)."""
    return embed_file(input_path, model, out, **options)


def load_task(task: str | Any, split_seed: int = 0) -> TaskData:
    """A task's train/val/test splits (``findna data info TASK``); ``task`` is a registered name
    (``findna data list``), the path of your own data (a folder, a table or a task YAML;
    docs/data.md) or a :class:`findna.data.tasks.TaskSpec`."""
    return _load_task(resolve_task(task) if isinstance(task, str) else task, split_seed)


def probe(
    task: str | TaskData,
    model: str | Path,
    *,
    seeds: Sequence[int] = (0,),
    out: str | Path = "runs/probe",
    config: str | Path | None = None,
    settings: Settings = None,
    scratch: str | ModelConfig | None = None,
    name: str | None = None,
    force: bool = False,
) -> BenchmarkReport:
    """``findna probe``: frozen features, a head per learning rate chosen on validation, test
    scored once per seed; writes ``out/probe.json`` and ``probe.md``."""
    cfg = _settings(ProbeConfig, "probe", config, settings)
    data = task if isinstance(task, TaskData) else load_task(task)
    check_report_dir(out, "probe", force=force)
    return probe_task(data, model, cfg, list(seeds), Path(out), scratch_config=_scratch(scratch),
                      model_name=name)  # fmt: skip


def finetune(
    task: str | TaskData,
    model: str | Path,
    *,
    seeds: Sequence[int] = (0,),
    out: str | Path = "runs/finetune",
    config: str | Path | None = None,
    settings: Settings = None,
    scratch: str | ModelConfig | None = None,
    name: str | None = None,
    save_models: bool = True,
    force: bool = False,
) -> BenchmarkReport:
    """``findna finetune``: all weights trained per seed, the epoch chosen on validation; writes
    ``out/finetune.json`` and each seed's classifier ``out/seed<k>/`` (for :func:`predict`)."""
    cfg = _settings(FinetuneConfig, "finetune", config, settings)
    data = task if isinstance(task, TaskData) else load_task(task)
    check_report_dir(out, "finetune", force=force)
    return finetune_task(data, model, cfg, list(seeds), out, scratch_config=_scratch(scratch),
                         model_name=name, save_models=save_models)  # fmt: skip


def predict(
    classifier_dir: str | Path, seqs: Sequence[str], *, batch_size: int = 128, device: str = "cpu"
) -> np.ndarray:
    """Class probabilities (N, C) of sequences with a fine-tuned classifier folder (rows sum
    to 1; column c is class c of the classifier's ``task.json``)."""
    model, _ = load_classifier(classifier_dir)
    return predict_proba(model.to(device), encode(seqs), batch_size=batch_size, device=device)


def score_variants(
    variants: str | Path,
    genome: str | Path,
    model: str | Path,
    out: str | Path,
    *,
    settings: Settings = None,
    scratch: str | ModelConfig | None = None,
    force: bool = False,
    progress: bool = False,
) -> ScoreVariantsResult:
    """``findna score-variants``: zero-shot log P(alt) - log P(ref) of every variant of a VCF or
    TSV/CSV (chrom, pos 1-based, ref, alt) from the MNM head, both strands averaged; TSV or
    Parquet by ``out``'s suffix (docs/variants.md). ``settings``: VariantScoreConfig keys."""
    cfg = _settings(VariantScoreConfig, "variants", None, settings)
    return score_variants_file(variants, genome, str(model), out, cfg,
                               scratch_config=_scratch(scratch), force=force,
                               progress=progress)  # fmt: skip


def benchmark(
    models: Sequence[str],
    suite: str,
    *,
    mode: str = "probe",
    seeds: Sequence[int] = (0,),
    out: str | Path = "runs/benchmark",
    settings: Settings = None,
    force: bool = False,
) -> BenchmarkReport:
    """``findna benchmark``: every (task, model, seed), resumable; ``models`` as the CLI's
    ``--models`` (``NAME=SOURCE`` or a source, ``scratch`` for a random network)."""
    given = {"models": list(models), "suite": suite, "mode": mode, "seeds": list(seeds),
             "out_dir": str(out), **dict(settings or {})}  # fmt: skip
    cfg = _settings(BenchmarkConfig, "benchmark", None, given)
    return run_benchmark(cfg, force=force)


def pretrain(
    config: str | Path = "tiny",
    settings: Settings = None,
    *,
    out: str | Path | None = None,
    resume: bool = False,
    force: bool = False,
) -> PretrainResult:
    """``findna pretrain``: a preset (``tiny``, ``small``, ``paper``, ...) with ``settings`` on
    top; ``out`` sets ``run.out_dir``. Returns where the run and its exported model are."""
    given = dict(settings or {})
    if out is not None:
        given["run.out_dir"] = str(out)
    cfg = _settings(PretrainConfig, "pretrain", config, given)
    return run_pretrain(cfg, resume=resume, force=force)


__all__ = [
    "benchmark",
    "embed",
    "embed_to_file",
    "encode",
    "finetune",
    "load_model",
    "load_task",
    "predict",
    "pretrain",
    "probe",
    "score_variants",
]
