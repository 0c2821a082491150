"""Flags that set one key of a command's settings dataclass, declared once each.

A flag is declared with the dotted key it sets (``--pooling`` -> ``features.pooling``). Its
argparse choices (a ``Literal``), on/off form (a ``bool``), the default its help shows and the
help line itself are read from the dataclass (:mod:`findna.cli.fields`), and the values given
become the nested settings mapping through the same table (:func:`flag_settings`). Flags default
to None ("not given"), so they override only what the user typed.

Reading a dataclass means importing its module, and most of them import torch. A command whose
flags come from a dataclass therefore adds them when it is used (:class:`CommandParser`), so
``findna --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from findna.cli.fields import choices, key_info, shown


class CommandParser(argparse.ArgumentParser):
    """A subcommand parser whose arguments may be added on first use (a parse or its help).

    ``findna --help`` builds every subcommand but parses none, so a command that reads its flags
    from a settings dataclass imports it only when that command runs or shows its help.
    """

    _fill: Callable[[argparse.ArgumentParser], None] | None = None

    def fill_later(self, fill: Callable[[argparse.ArgumentParser], None]) -> None:
        """Run ``fill(self)`` (which adds the arguments) before the first parse or help."""
        self._fill = fill

    def _filled(self) -> None:
        fill, self._fill = self._fill, None
        if fill is not None:
            fill(self)

    def parse_known_args(self, args=None, namespace=None):  # noqa: ANN001 (argparse's)
        self._filled()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._filled()
        return super().format_help()

    def format_usage(self) -> str:
        self._filled()
        return super().format_usage()


@dataclass(frozen=True)
class Flag:
    """A flag's name and how it reads its value; the key it sets is given where it is used.

    Attributes:
        name: the flag, e.g. ``--batch-size``.
        help: its help line; None uses the first sentence of the setting's docstring entry.
        type: an argparse ``type`` that checks the value (choices and bools need none).
        metavar: the value's name in the help.
    """

    name: str
    help: str | None = None
    type: Callable[[str], Any] | None = None
    metavar: str | None = None


class SettingFlags:
    """The flags of one command that set keys of its settings dataclass ``cls``.

    Each flag's destination and key go into ``args.setting_flags``, which
    :func:`flag_settings` turns into the nested mapping that overrides ``--config``/``--set``.
    """

    def __init__(self, parser: argparse.ArgumentParser, cls: type) -> None:
        self.parser, self.cls = parser, cls
        self.keys: dict[str, str] = {}
        parser.set_defaults(setting_flags=self.keys)

    def add(self, flag: Flag | str, key: str, *, help: str | None = None, **kwargs: Any) -> None:
        """Add ``flag`` (a :class:`Flag` or a name) setting ``key`` of the dataclass.

        ``help`` replaces the flag's help line; the default is always the dataclass's.
        """
        flag = Flag(flag) if isinstance(flag, str) else flag
        info = key_info(self.cls, key)
        allowed = choices(info.type)
        opts: dict[str, Any] = {}
        if flag.type is not None:
            opts["type"] = flag.type
        elif info.type is bool:
            opts["action"] = argparse.BooleanOptionalAction
        elif allowed is not None:
            opts["choices"] = allowed
        if flag.metavar:
            opts["metavar"] = flag.metavar
        opts.update(kwargs)
        default = "" if info.default is None else f"; default {shown(info.default)}"
        line = (help or flag.help or info.help).rstrip(".")
        text = f"{line} (same as --set {key}=...{default})"
        action = self.parser.add_argument(flag.name, help=text.replace("%", "%%"), **opts)
        self.keys[action.dest] = key


def flag_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings flags given (not None), nested: ``{"features": {"pooling": "cls"}}``."""
    nested: dict[str, Any] = {}
    for dest, key in getattr(args, "setting_flags", {}).items():
        value = getattr(args, dest)
        if value is None:
            continue
        *parents, last = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return nested


__all__ = ["CommandParser", "Flag", "SettingFlags", "flag_settings"]
