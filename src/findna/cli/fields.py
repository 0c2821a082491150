"""What a settings dataclass says about each of its keys: type, default and one line of help.

The dataclasses are the one place a setting's default, choices and description are written; the
command-line flags (:mod:`findna.cli.setting_flags`) and ``findna config show`` read them from
here. Help comes from the ``Attributes:`` section of the class docstring (Google style: one
``name: text`` entry per field, continuation lines indented; ``a, b: text`` documents both).
Works on classes it is given, so importing it imports no config module (and no torch).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_ENTRY = re.compile(r"^(\s*)([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*:\s*(.*)$")
_ROLES = re.compile(r":\w+:`~?([^`]+)`")  # :data:`findna.config.PRECISIONS` -> the name


@dataclass(frozen=True)
class KeyInfo:
    """One setting: its dotted key, type annotation, default (``MISSING`` if required) and the
    first sentence of its docstring entry ("" when the docstring has none)."""

    key: str
    type: Any
    default: Any
    help: str


def plain(text: str) -> str:
    """Docstring text as plain text: no reST roles or double backquotes, one line."""
    text = _ROLES.sub(r"\1", text).replace("``", "")
    return " ".join(text.split())


def first_sentence(text: str) -> str:
    """``text`` up to its first full stop outside brackets (the whole text if none)."""
    depth = 0
    for i, char in enumerate(text):
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "." and depth == 0 and (i + 1 == len(text) or text[i + 1] == " "):
            return text[: i + 1]
    return text


def attribute_docs(cls: type) -> dict[str, str]:
    """Field name -> its ``Attributes:`` entry in ``cls``'s docstring, as plain text.

    An entry may hold several fields inline (``head: ... head_hidden: ...``) when the second
    name is a field of ``cls``; each gets its own text.
    """
    names = {f.name for f in dataclasses.fields(cls)}
    entries: dict[str, list[str]] = {}
    current: list[str] = []
    indent = None
    for line in (cls.__doc__ or "").splitlines():
        if indent is None:
            if line.strip() == "Attributes:":
                indent = -1
            continue
        if not line.strip():
            continue
        match = _ENTRY.match(line)
        level = len(line) - len(line.lstrip())
        if indent == -1 and match:
            indent = level
        if match and level == indent:
            current = []
            for name in re.split(r"\s*,\s*", match.group(2)):
                entries[name] = current
            current.append(match.group(3))
        elif level > max(indent, 0):
            current.append(line.strip())
        else:
            break  # the section ended
    docs = {}
    for name, lines in entries.items():
        docs.setdefault(name, plain(" ".join(lines)))
    return _split_inline(docs, names)


def _split_inline(docs: dict[str, str], names: set[str]) -> dict[str, str]:
    """``{"head": "a. head_hidden: b"}`` -> ``{"head": "a.", "head_hidden": "b"}``."""
    out = {}
    for name, text in docs.items():
        parts = re.split(r"(?<=\.)\s+([A-Za-z_]\w*):\s+", text)
        out.setdefault(name, parts[0])
        for other, rest in zip(parts[1::2], parts[2::2], strict=True):
            if other in names:
                out.setdefault(other, rest)
            else:  # not a field name: the text goes on
                out[name] += f" {other}: {rest}"
    return out


def _dataclass_of(tp: Any) -> type | None:
    """The dataclass an annotation names (``X`` itself; not ``X | None``: its default is None)."""
    return tp if dataclasses.is_dataclass(tp) and isinstance(tp, type) else None


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def iter_keys(cls: type, prefix: str = "") -> Iterator[KeyInfo]:
    """Every key of ``cls``, nested dataclasses expanded (``features.pooling``), in field order."""
    hints = typing.get_type_hints(cls)
    docs = attribute_docs(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        key, tp = f"{prefix}{f.name}", hints[f.name]
        nested = _dataclass_of(tp)
        if nested is not None:
            yield from iter_keys(nested, f"{key}.")
        else:
            yield KeyInfo(key, tp, _default(f), first_sentence(docs.get(f.name, "")))


def key_info(cls: type, key: str) -> KeyInfo:
    """The setting ``key`` (dotted for nested dataclasses) of ``cls``.

    Raises:
        KeyError: ``cls`` has no such key.
    """
    head, _, rest = key.partition(".")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if head not in fields:
        raise KeyError(f"{cls.__name__} has no setting {key!r}")
    tp = typing.get_type_hints(cls)[head]
    if rest:
        nested = _dataclass_of(tp)
        if nested is None:
            raise KeyError(f"{cls.__name__}.{head} has no sub-setting {rest!r}")
        return key_info(nested, rest)
    doc = first_sentence(attribute_docs(cls).get(head, ""))
    return KeyInfo(key, tp, _default(fields[head]), doc)


def choices(tp: Any) -> tuple[Any, ...] | None:
    """The values a ``Literal`` annotation allows (also inside ``Optional``), else None."""
    if typing.get_origin(tp) is typing.Literal:
        return typing.get_args(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if len(args) == 1 and typing.get_origin(args[0]) is typing.Literal:
        return typing.get_args(args[0])
    return None


def shown(value: Any) -> str:
    """A value as ``--set`` takes it (YAML flow style: ``null``, ``[0, 1, 2]``, ``1e-3``)."""
    import yaml

    if value is dataclasses.MISSING:
        return "(required)"
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, tuple):
        value = list(value)
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return text.removesuffix("\n...").strip()


__all__ = ["KeyInfo", "attribute_docs", "choices", "iter_keys", "key_info", "shown"]
