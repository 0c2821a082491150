"""``findna config show [KIND] [--config NAME]``: every key a command's ``--set`` takes.

Each key (dotted, nested dataclasses expanded) is listed with its default, or a preset's value,
and the first sentence of its docstring entry (:mod:`findna.cli.fields`).
"""

from __future__ import annotations

import argparse

from findna.cli.args import add_config

KINDS = {
    "pretrain": "findna pretrain (PretrainConfig)",
    "probe": "findna probe (ProbeConfig)",
    "finetune": "findna finetune (FinetuneConfig)",
    "benchmark": "findna benchmark (BenchmarkConfig)",
    "embed": "findna embed (EmbedConfig)",
    "plot-embeddings": "findna plot-embeddings (PlotEmbeddingsConfig)",
    "predict": "findna predict (PredictConfig)",
    "score-variants": "findna score-variants (VariantScoreConfig)",
    "study": "findna study STUDY.yaml (StudyConfig)",
    "model": "--scratch-model and a pretraining config's model.* (ModelConfig)",
}
"""Settings kinds (the ``--config`` preset folders) -> where they are used."""


def settings_class(kind: str) -> type:
    """The settings dataclass of ``kind`` (one of :data:`KINDS`).

    Raises:
        ValueError: an unknown kind, listing the known ones.
    """
    if kind == "pretrain":
        from findna.train.config import PretrainConfig as cls
    elif kind == "probe":
        from findna.eval.probe_config import ProbeConfig as cls
    elif kind == "finetune":
        from findna.eval.finetune_config import FinetuneConfig as cls
    elif kind == "benchmark":
        from findna.eval.benchmark_config import BenchmarkConfig as cls
    elif kind == "embed":
        from findna.cli.settings import EmbedConfig as cls
    elif kind == "plot-embeddings":
        from findna.cli.settings import PlotEmbeddingsConfig as cls
    elif kind == "predict":
        from findna.cli.settings import PredictConfig as cls
    elif kind == "score-variants":
        from findna.eval.variants_config import VariantScoreConfig as cls
    elif kind == "study":
        from findna.workflows.study_config import StudyConfig as cls
    elif kind == "model":
        from findna.model.config import ModelConfig as cls
    else:
        raise ValueError(f"unknown settings kind {kind!r}; known: {', '.join(KINDS)}")
    return cls


def add_config_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "config",
        help="list the settings keys of a command (what --set takes), with defaults",
        description="The keys of each command's settings: the dataclass defaults <- --config "
        "(a preset name or YAML) <- --set KEY=VALUE <- the command's flags.",
    )
    csub = p.add_subparsers(dest="config_command", required=True, metavar="{show}")
    show = csub.add_parser(
        "show",
        help="every key of KIND with its default (or a preset's value) and one line of help",
        description="Without KIND: the kinds. KIND: "
        + "; ".join(f"{k}: {v}" for k, v in KINDS.items()),
    )
    show.add_argument("kind", nargs="?", choices=tuple(KINDS), metavar="KIND", help="a kind")
    add_config(show, "KIND", "a name `findna config show` lists; its values are shown")
    show.set_defaults(handler=_show)


def _show(args: argparse.Namespace) -> None:
    if args.kind is None:
        if args.config:
            raise ValueError("--config needs a KIND: findna config show KIND --config NAME")
        print(list_kinds())
    else:
        print(show_settings(args.kind, args.config))


def list_kinds() -> str:
    """The kinds, where each is used and its shipped presets."""
    from findna.config import preset_names

    width = max(map(len, KINDS))
    lines = ["settings kinds (findna config show KIND lists the keys):"]
    for kind, used in KINDS.items():
        presets = preset_names(kind)
        shipped = f"; presets: {', '.join(presets)}" if presets else ""
        lines.append(f"  {kind:<{width}}  {used}{shipped}")
    return "\n".join(lines)


def show_settings(kind: str, config: str | None = None) -> str:
    """Every key of ``kind``'s settings: ``key  value  help``; with ``config``, the preset's
    values, and the default beside each value the preset changes."""
    from findna.cli.fields import iter_keys, shown
    from findna.config import config_to_dict, load_config, preset_path

    cls = settings_class(kind)
    rows = [(info.key, shown(info.default), info.help) for info in iter_keys(cls)]
    title = f"{kind} settings ({cls.__name__}): defaults"
    if config is not None:
        path = preset_path(kind, config)
        values = _flat(config_to_dict(load_config(cls, path)))
        rows = [_preset_row(row, values.get(row[0], row[1])) for row in rows]
        title = f"{kind} settings ({cls.__name__}) of {path}"
    key_w = max(len(r[0]) for r in rows)
    value_w = min(max(len(r[1]) for r in rows), 24)
    lines = [f"{title}; set one with --set KEY=VALUE:"]
    for key, value, help in rows:
        pad = value if len(value) > value_w else f"{value:<{value_w}}"
        lines.append(f"  {key:<{key_w}}  {pad}  {help}".rstrip())
    return "\n".join(lines)


def _preset_row(row: tuple[str, str, str], value: str) -> tuple[str, str, str]:
    """A row with the preset's ``value``; the default goes before the help where they differ."""
    key, default, help = row
    return (key, value, help) if value == default else (key, value, f"[default {default}] {help}")


def _flat(data: dict, prefix: str = "") -> dict[str, str]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": "1"}`` (values as :func:`shown` spells them)."""
    from findna.cli.fields import shown

    out = {}
    for key, value in data.items():
        if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
            out.update(_flat(value, f"{prefix}{key}."))
        out[f"{prefix}{key}"] = shown(value)
    return out


__all__ = ["KINDS", "add_config_command", "list_kinds", "settings_class", "show_settings"]
