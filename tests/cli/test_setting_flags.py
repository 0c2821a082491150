"""Flags that set a settings key are declared once: choices, defaults and help come from the
dataclass, and the values given become the nested settings mapping through the same table."""

import argparse
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Literal

import pytest

from findna.cli import build_parser
from findna.cli.fields import attribute_docs, choices, first_sentence, iter_keys, key_info, shown
from findna.cli.setting_flags import SettingFlags, flag_settings


@dataclass
class Inner:
    """Inner settings.

    Attributes:
        mode: how it goes. Second sentence (with a dot. inside) is dropped.
        a, b: two fields, one entry.
    """

    mode: Literal["x", "y"] = "x"
    a: int = 1
    b: int | None = None


@dataclass
class Outer:
    """Outer settings.

    Attributes:
        inner: the inner part.
        rate: a rate
            over two lines (``per step``). count: how many, inline.
        flag: on or off.

    Returns nothing: this section is not read.
    """

    inner: Inner = field(default_factory=Inner)
    rate: float = 0.5
    count: int = 3
    flag: bool = False


def test_the_docstring_attributes_section_gives_each_field_its_text():
    docs = attribute_docs(Outer)
    assert docs == {
        "inner": "the inner part.",
        "rate": "a rate over two lines (per step).",
        "count": "how many, inline.",
        "flag": "on or off.",
    }
    assert attribute_docs(Inner)["a"] == attribute_docs(Inner)["b"] == "two fields, one entry."
    assert first_sentence(attribute_docs(Inner)["mode"]) == "how it goes."


def test_keys_are_dotted_with_defaults_and_help():
    keys = {k.key: k for k in iter_keys(Outer)}
    assert list(keys) == ["inner.mode", "inner.a", "inner.b", "rate", "count", "flag"]
    assert (keys["inner.mode"].default, keys["inner.mode"].help) == ("x", "how it goes.")
    assert choices(keys["inner.mode"].type) == ("x", "y")
    assert key_info(Outer, "inner.b").default is None
    with pytest.raises(KeyError, match="no setting 'nope'"):
        key_info(Outer, "nope")
    assert [shown(v) for v in (None, [0, 1], 1e-3, "a", True, (1, 2))] == [
        "null", "[0, 1]", "0.001", "a", "true", "[1, 2]",
    ]  # fmt: skip


def test_a_setting_flag_reads_choices_default_and_help_from_the_dataclass():
    p = argparse.ArgumentParser()
    flags = SettingFlags(p, Outer)
    flags.add("--mode", "inner.mode")
    flags.add("--flag", "flag")
    flags.add("--rate", "rate", type=float)
    by_dest = {a.dest: a for a in p._actions}
    assert by_dest["mode"].choices == ("x", "y") and by_dest["mode"].default is None
    assert by_dest["mode"].help == "how it goes (same as --set inner.mode=...; default x)"
    assert isinstance(by_dest["flag"], argparse.BooleanOptionalAction)
    args = p.parse_args(["--mode", "y", "--no-flag"])
    assert flag_settings(args) == {"inner": {"mode": "y"}, "flag": False}
    assert flag_settings(p.parse_args([])) == {}


MINIMAL = {
    "embed": ["embed", "in.fa", "--model", "scratch", "--out", "o.npy"],
    "plot-embeddings": ["plot-embeddings", "--task", "t", "--model", "scratch", "--out", "o.png"],
    "predict": ["predict", "in.fa", "--model", "m", "--out", "o.csv"],
    "score-variants": ["score-variants", "v.vcf", "--genome", "g.fa", "--model", "m", "--out",
                       "o.tsv"],
    "benchmark": ["benchmark"],
    "pretrain": ["pretrain"],
}  # fmt: skip


def _command_parser(name):
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = sub.choices[name]
    command.format_help()  # adds the flags read from the dataclass
    return command


@pytest.mark.parametrize("name", sorted(MINIMAL))
def test_every_setting_flag_shows_the_dataclass_default_and_choices(name):
    from findna.cli.config_show import settings_class

    cls = settings_class(name)
    args = build_parser().parse_args(MINIMAL[name])
    assert args.setting_flags, f"{name} has no flag that sets a key"
    actions = {a.dest: a for a in _command_parser(name)._actions}
    for dest, key in args.setting_flags.items():
        info, action = key_info(cls, key), actions[dest]
        assert action.default is None and getattr(args, dest) is None, key
        if info.default is not None:
            assert f"default {shown(info.default)})" in action.help, (key, action.help)
        if choices(info.type) is not None and action.type is None:
            assert tuple(action.choices) == choices(info.type), key
    assert flag_settings(args) == {}


def test_pooling_choices_are_the_one_constant():
    from findna.model.pooling import POOLINGS

    pooling = next(a for a in _command_parser("embed")._actions if a.dest == "pooling")
    assert tuple(pooling.choices) == POOLINGS


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["embed"],
        ["probe"],
        ["finetune"],
        ["plot-embeddings"],
        ["predict"],
        ["benchmark"],
        ["score-variants"],
        ["pretrain"],
        ["config", "show", "benchmark"],
        ["config", "show", "pretrain"],
    ],
)
def test_help_imports_no_torch(command):
    """--help reads the settings dataclasses for its defaults; they live in torch-free modules,
    so help takes a fraction of a second (torch's import alone takes seconds)."""
    code = (
        f"import sys\nfrom findna.cli import main\ntry:\n    main({command + ['--help']!r})\n"
        "except SystemExit:\n    pass\nassert 'torch' not in sys.modules, 'torch imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
