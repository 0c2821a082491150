"""Typed configuration: dataclass defaults <- YAML preset <- ``--set section.key=value`` overrides.

Every config in findna is a (nested) dataclass whose defaults are the truth. ``load_config``
builds one strictly: unknown keys are rejected with the list of valid ones, values are checked
against the field types (``int``, ``float``, ``bool``, ``str``, ``Literal``, ``tuple``/``list``,
``Optional`` and nested dataclasses), and the dataclass's own ``__post_init__`` validates
combinations. ``dump_config`` writes the resolved config back as YAML, so every run and
checkpoint can record exactly what it used.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from findna.outputs import write_text_atomic

T = TypeVar("T")

log = logging.getLogger(__name__)

Precision = Literal["auto", "32-true", "bf16-mixed", "16-mixed"]
"""Numeric precision, in Lightning's names, everywhere in findna: ``32-true`` (float32),
``bf16-mixed`` / ``16-mixed`` (bfloat16 / float16 autocast over float32 weights) and, for the
``auto``: ``bf16-mixed`` on CUDA and on CPUs where bf16 is faster (AMX, or a cached
micro-benchmark), else ``32-true``; one choice for every command, pretraining included
(:func:`findna.precision.choose_precision`)."""

PRECISIONS: tuple[str, ...] = typing.get_args(Precision)

DEPRECATED_PRECISIONS = {"32": "32-true", "bf16": "bf16-mixed"}
"""Old spellings of the feature settings (``features.precision: "32"``), still read."""

DEVICES = "auto, cpu, cuda or cuda:N"
"""The device names the downstream commands take (``auto``: CUDA when available, else CPU)."""


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert where it is lossless."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where)
            except (TypeError, ValueError) as err:
                errors.append(str(err))
        raise ValueError(errors[0] if len(errors) == 1 else f"{where}: {value!r} matches no type")
    if origin is typing.Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ValueError(f"{where}: {value!r} is not one of {choices}")
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: expected a mapping of {tp.__name__} fields, got {value!r}")
        return config_from_dict(tp, value, where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            items = [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
        elif origin is tuple and args:
            if len(args) != len(value):
                raise ValueError(f"{where}: expected {len(args)} items, got {len(value)}")
            items = [
                _coerce(v, a, f"{where}[{i}]")
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            ]
        else:
            item_tp = args[0] if args else Any
            items = [_coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ValueError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):
            # YAML 1.1 reads "3e-4" (no dot) as a string; accept any Python float literal.
            try:
                value = float(value)
            except ValueError:
                raise ValueError(f"{where}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def config_from_dict(cls: type[T], data: Mapping[str, Any], where: str = "config") -> T:
    """Build the dataclass ``cls`` from a mapping, rejecting unknown keys and wrong types."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(sorted(fields))}"
        )
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}") for k, v in data.items()}
    try:
        return cls(**kwargs)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain nested dict of a config (tuples become lists, so it is YAML/JSON friendly)."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, Mapping):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(cfg)


def parse_overrides(overrides: Sequence[str]) -> dict[str, Any]:
    """Turn ``["a.b=1", "c=[1, 2]"]`` into the nested dict ``{"a": {"b": 1}, "c": [1, 2]}``.

    Values are parsed as YAML scalars or flow lists, so ``1e-3`` is a float and ``true`` a bool.
    """
    nested: dict[str, Any] = {}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"override {item!r} must look like section.key=value")
        value = yaml.safe_load(raw) if raw.strip() else ""
        node = nested
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r} conflicts with another override")
        node[parts[-1]] = value
    return nested


def merge_settings(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` over ``base``, nested mappings merged key by key (neither is changed)."""
    out = dict(base)
    for k, v in update.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = merge_settings(out[k], v)
        else:
            out[k] = v
    return out


def parse_seeds(text: str, flag: str = "--seeds") -> list[int]:
    """Distinct integer seeds from a comma-separated flag value such as ``"0,1,2"``.

    Raises:
        ValueError: naming ``flag`` for a non-integer, an empty list or a repeated seed.
    """
    seeds = []
    for part in (p.strip() for p in str(text).split(",")):
        if not part:
            continue
        try:
            seeds.append(int(part))
        except ValueError:
            raise ValueError(
                f"{flag} {text!r}: {part!r} is not an integer; give comma-separated integer "
                f"seeds, e.g. {flag} 0,1,2"
            ) from None
    if not seeds:
        raise ValueError(f"{flag} {text!r} names no seed; give at least one, e.g. {flag} 0,1,2")
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise ValueError(
            f"{flag} {text!r} repeats seed(s) {repeated}; each seed counts once, list it once"
        )
    return seeds


def normalize_precision(value: Any, where: str = "precision") -> str:
    """``value`` as one of :data:`PRECISIONS`; an old spelling (``"32"``, ``"bf16"``) is mapped
    to its new name with a warning.

    Raises:
        ValueError: naming ``where`` and the allowed names.
    """
    if value in PRECISIONS:
        return value
    if isinstance(value, str) and value in DEPRECATED_PRECISIONS:
        new = DEPRECATED_PRECISIONS[value]
        log.warning(
            "%s %r is deprecated; read as %r (the same computation). Write %r instead; the old "
            "spellings will stop working in a later release",
            where,
            value,
            new,
            new,
        )
        return new
    raise ValueError(f"{where} must be one of {', '.join(PRECISIONS)}, got {value!r}")


def check_device(value: Any, where: str = "device") -> str:
    """``value`` if it is a device name findna takes (see :data:`DEVICES`).

    Raises:
        ValueError: naming ``where`` and the allowed names.
    """
    if isinstance(value, str) and (
        value in ("auto", "cpu", "cuda") or (value.startswith("cuda:") and value[5:].isdigit())
    ):
        return value
    raise ValueError(f"{where} must be {DEVICES}, got {value!r}")


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: the top level must be a mapping of sections")
    return dict(data)


def read_preset(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a YAML preset; a top-level ``base: other.yaml`` (relative to the file) is read first
    and this file's values are merged over it, so presets state only what differs."""
    path = Path(path).resolve()
    if path in _seen:
        raise ValueError(f"{path}: 'base' chain loops back to itself")
    data = read_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ValueError(f"{path}: 'base' must be a file name, got {base!r}")
    if not (path.parent / base).is_file():
        raise FileNotFoundError(_missing_base(path, base))
    return merge_settings(read_preset(path.parent / base, (*_seen, path)), data)


def _missing_base(path: Path, base: str) -> str:
    """The message for a ``base:`` that names no file: it is a path relative to ``path``, never
    a preset name (a shipped preset of that name is pointed at by its path)."""
    stem = Path(base).stem
    kinds = sorted(p.parent.name for p in PRESETS_DIR.glob(f"*/{stem}.yaml"))
    text = (
        f"{path}: base: {base}: {path.parent / base} does not exist; base: takes a YAML path "
        "relative to this file (a shipped preset is given with --config NAME, not base:)."
    )
    if kinds:
        text += (
            f" {stem!r} is a shipped preset: start from it with --config {stem}, or give base: "
            f"{PRESETS_DIR}/KIND/{stem}.yaml (KIND: {', '.join(kinds)})"
        )
    return text


PRESETS_DIR = Path(__file__).resolve().parent / "configs"
"""The YAML presets shipped with findna (``configs/`` in the repository links here)."""


def preset_path(kind: str, name_or_path: str | Path) -> Path:
    """A YAML preset given as a path, or by name from the presets shipped with findna.

    Args:
        kind: the preset folder: ``pretrain``, ``finetune``, ``probe``, ``benchmark``, ``model``.
        name_or_path: an existing file path, or a preset name such as ``tiny`` (looked up as
            ``configs/<kind>/<name>.yaml`` inside the package).

    Raises:
        FileNotFoundError: neither a file nor a shipped preset, with the available names.
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    shipped = PRESETS_DIR / kind / f"{path.stem if path.suffix == '.yaml' else path}.yaml"
    if path.parent == Path(".") and shipped.is_file():
        return shipped
    names = ", ".join(preset_names(kind)) or "none"
    raise FileNotFoundError(
        f"{kind} preset {str(name_or_path)!r} is neither a YAML file nor a shipped preset "
        f"(shipped: {names})"
    )


def preset_names(kind: str) -> list[str]:
    """Names of the shipped presets of ``kind``, sorted."""
    return sorted(p.stem for p in (PRESETS_DIR / kind).glob("*.yaml"))


def _given(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` without its None entries (nested mappings included)."""
    out = {}
    for k, v in values.items():
        if isinstance(v, Mapping):
            v = _given(v)
        if v is not None and v != {}:
            out[k] = v
    return out


def load_config(
    cls: type[T],
    path: str | Path | None = None,
    overrides: Sequence[str] = (),
    flags: Mapping[str, Any] | None = None,
) -> T:
    """Defaults of ``cls``, then the YAML preset at ``path``, then ``key=value`` overrides, then
    ``flags`` (a nested mapping of command-line flag values; None means "not given")."""
    base: dict[str, Any] = read_preset(path) if path is not None else {}
    layers = [(f"--set {item}", parse_overrides([item])) for item in overrides]
    given = _given(flags or {})
    if given:
        layers.append(("the command-line flags", given))
    data = base
    for _, layer in layers:
        data = merge_settings(data, layer)
    try:
        return config_from_dict(cls, data, str(path) if path is not None else cls.__name__)
    except ValueError:
        if not layers:
            raise
    # Blame what broke it: the preset alone, else the first override or flag that makes it fail.
    config_from_dict(cls, base, str(path) if path is not None else cls.__name__)
    data = base
    for name, layer in layers:
        data = merge_settings(data, layer)
        try:
            config_from_dict(cls, data, cls.__name__)
        except ValueError as err:
            on = f" (on top of {path})" if path is not None else ""
            raise ValueError(f"{name}{on}: {err}") from None
    raise AssertionError("unreachable: the full config failed but every layer passed")


def dump_config(cfg: Any, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically: the old file or the new, never half)."""
    write_text_atomic(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
