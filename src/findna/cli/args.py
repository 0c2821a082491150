"""The flags that several subcommands share, each defined once, and how settings are resolved.

Settings of a command: dataclass defaults <- ``--config`` (a YAML path or the name of a preset
shipped in ``findna/configs/<kind>/``) <- ``--set key=value`` <- explicit flags. A flag that sets
a key is declared with that key (:mod:`findna.cli.setting_flags`): it defaults to None ("not
given"), and its choices and the default its help shows are the dataclass's. Flag values are
checked while parsing, and an error names the flag and what it allows. This module imports no
torch, so ``findna --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from findna.cli.setting_flags import Flag, SettingFlags, flag_settings
from findna.config import DEPRECATED_PRECISIONS, DEVICES, PRECISIONS, check_device

if TYPE_CHECKING:  # annotations only
    from findna.model.config import ModelConfig

T = TypeVar("T")

MODEL_SOURCE_HELP = "HF model dir, pretraining run dir, .ckpt, or 'scratch'"


def add_config(
    p: argparse.ArgumentParser, kind: str, example: str | None, default: str | None = None
) -> None:
    """``--config NAME|YAML``: a preset of ``configs/<kind>/`` by name, or a YAML path.

    ``example`` names shipped presets for the help; None for a command that ships none.
    """
    shown = f" (default {default})" if default else ""
    if example is None:
        what, metavar = "settings: a YAML file of the keys --set takes", "YAML"
    else:
        what = f"settings preset: a YAML file or the name of a shipped {kind} preset, e.g. "
        what, metavar = what + example, "NAME|YAML"
    p.add_argument("--config", default=default, metavar=metavar, help=what + shown)


def add_overrides(
    p: argparse.ArgumentParser, help: str, flag: str = "--set", dest: str = "overrides"
) -> None:
    """A repeatable ``--set KEY=VALUE`` (or ``flag``) collected into ``args.<dest>``."""
    p.add_argument(
        flag,
        dest=dest,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"{help} (repeatable)",
    )


def add_settings(
    p: argparse.ArgumentParser,
    kind: str,
    example: str | None,
    set_example: str,
    cls: type | None = None,
) -> SettingFlags:
    """``--config`` and ``--set`` of a command whose settings are a config dataclass ``cls``
    (of ``configs/<kind>/`` presets); returns the table its flags that set a key go into."""
    add_config(p, kind, example)
    add_overrides(p, f"override one setting, e.g. --set {set_example}")
    p.epilog = f"list the keys: findna config show {kind}"
    return SettingFlags(p, cls)


def load_settings(cls: type[T], kind: str, args: argparse.Namespace) -> T:
    """``cls`` from its defaults <- ``--config`` <- ``--set`` <- the settings flags given."""
    from findna.config import load_config, preset_path

    path = preset_path(kind, args.config) if args.config else None
    return load_config(cls, path, args.overrides, flag_settings(args))


def _checked(check: Callable[[str], Any], allowed: str) -> Callable[[str], Any]:
    """An argparse ``type`` whose errors say what the flag allows (argparse names the flag)."""

    def parse(text: str) -> Any:
        try:
            return check(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed; use {allowed}") from None

    return parse


def _min_int(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < low:
            raise ValueError(text)
        return value

    return parse


positive_int = _checked(_min_int(1), "a positive integer")
nonnegative_int = _checked(_min_int(0), "an integer >= 0")


def _precision(text: str) -> str:
    if text not in PRECISIONS and text not in DEPRECATED_PRECISIONS:
        raise ValueError(text)
    return text  # old spellings are mapped (with a warning) by the config that reads them


precision_name = _checked(_precision, ", ".join(PRECISIONS))
device_name = _checked(check_device, DEVICES)


SEEDS = Flag("--seeds", "comma-separated integer seeds", metavar="S,S,...")


def add_seeds(p: argparse.ArgumentParser, default: str = "0", help: str = "") -> None:
    """``--seeds 0,1,2`` (parsed by :func:`findna.config.parse_seeds` in the handler, so a bad
    list is a one-line error that names the flag)."""
    shown = help or f"{SEEDS.help} (default {default})"
    p.add_argument(SEEDS.name, default=default, metavar=SEEDS.metavar, help=shown)


def seeds(args: argparse.Namespace) -> list[int]:
    """The parsed ``--seeds``."""
    from findna.config import parse_seeds

    return parse_seeds(args.seeds)


def add_split_seed(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--split-seed", type=int, default=0, help="seed of the task's random splits (default 0)"
    )


def add_scratch_model(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scratch-model",
        metavar="NAME|YAML",
        help="architecture of --model scratch: a ModelConfig YAML or a shipped model preset "
        "(tiny, paper, transformer; default paper)",
    )


def scratch_config(args: argparse.Namespace) -> ModelConfig | None:
    """The ``--scratch-model`` architecture, or None (the default) when not given."""
    from findna.config import load_config, preset_path
    from findna.model.config import ModelConfig

    if not args.scratch_model:
        return None
    return load_config(ModelConfig, preset_path("model", args.scratch_model))


TASK_HELP = (
    "a task name (see `findna data list`) or the path of your own data: a folder of "
    "train/val/test tables, one table with a split column, a folder with one FASTA per class, "
    "or a task YAML (docs/data.md, 'Your own data')"
)


LABEL_COLUMN = Flag(
    "--label-column",
    "label column of your tables (default label); text labels become 0..C-1 in sorted order",
    metavar="NAME",
)
SEQUENCE_COLUMN = Flag(
    "--sequence-column",
    "sequence column of your tables (default sequence or seq)",
    metavar="NAME",
)


def target_columns(text: str) -> tuple[str, ...]:
    """``a,b`` -> ``("a", "b")``; an empty name is an error naming the flag."""
    names = tuple(n.strip() for n in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"--target-columns {text!r}: give column names separated by commas, e.g. a,b"
        )
    return names


TARGET_COLUMNS = Flag(
    "--target-columns",
    "target columns of your tables, comma-separated (a,b): numbers (a regression task) or, "
    "with --task-type multilabel, one 0/1 column per label (docs/data.md)",
    metavar="A[,B]",
    type=target_columns,
)
TASK_TYPES = ("classification", "regression", "multilabel", "per_base")


def task_type(text: str) -> str:
    """A ``--task-type`` value (``per-base`` is ``per_base``); another is an error listing them."""
    name = "per_base" if text == "per-base" else text
    if name not in TASK_TYPES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is no task type; choose one of {', '.join(TASK_TYPES)} (or per-base)"
        )
    return name


TASK_TYPE = Flag(
    "--task-type",
    "what your tables' labels are: classification (one class per row), regression (numeric "
    "--target-columns; implied by them), multilabel (0/1 --target-columns, or a --label-column "
    "listing each row's labels) or per_base (per-base too: a --label-column of label strings, "
    "one class character per base; the classes are the characters, sorted) (docs/data.md)",
    metavar="{" + ",".join(TASK_TYPES) + "}",
    type=task_type,
)
LABEL_SEPARATOR = Flag(
    "--label-separator",
    "multilabel: the separator between the labels one --label-column cell lists (default ;)",
    metavar="SEP",
)


REFERENCE = Flag(
    "--reference",
    "reference genome of a task given as genome intervals (a BED): a FASTA (plain, gzip or "
    "bgzip) or a `findna prepare genome` folder (docs/data.md)",
    metavar="FASTA|DIR",
)


def add_task_columns(p: argparse.ArgumentParser, settings: SettingFlags | None = None) -> None:
    """``--label-column``, ``--sequence-column``, ``--target-columns``, ``--task-type`` and
    ``--label-separator`` of a user's task tables (setting the keys ``label_column``,
    ``sequence_column`` and, where the dataclass has them, ``target_columns``, ``task_type`` and
    ``label_separator`` of ``settings``' dataclass when given)."""
    flags = [(LABEL_COLUMN, "label_column"), (SEQUENCE_COLUMN, "sequence_column")]
    flags.append((TARGET_COLUMNS, "target_columns"))
    flags += [(TASK_TYPE, "task_type"), (LABEL_SEPARATOR, "label_separator")]
    flags.append((REFERENCE, "reference"))
    for flag, key in flags:
        if settings is None:
            p.add_argument(flag.name, metavar=flag.metavar, help=flag.help, type=flag.type)
        elif key in getattr(settings.cls, "__dataclass_fields__", {}):
            settings.add(flag, key)


def task_options(args: argparse.Namespace):  # -> UserTaskOptions (no data-layer import here)
    """The column flags given, as ``UserTaskOptions`` (``--target-columns`` implies regression
    unless ``--task-type`` says otherwise)."""
    from findna.data.user_layouts import UserTaskOptions

    return UserTaskOptions(
        label_column=getattr(args, "label_column", None),
        sequence_column=getattr(args, "sequence_column", None),
        target_columns=getattr(args, "target_columns", None),
        task_type=getattr(args, "task_type", None),
        label_separator=getattr(args, "label_separator", None),
        reference=getattr(args, "reference", None),
    )


def add_task(p: argparse.ArgumentParser) -> None:
    """``--task NAME|PATH``, its column flags and ``--on-invalid`` (how its sequences are read)."""
    p.add_argument("--task", required=True, metavar="NAME|PATH", help=TASK_HELP)
    add_task_columns(p)
    add_on_invalid(p, "error")


def task_spec(args: argparse.Namespace):  # -> TaskSpec (annotation would import the data layer)
    """The task ``--task`` names: a registered task, or one built from the user's path."""
    from findna.data.user_tasks import resolve_task

    return resolve_task(args.task, task_options(args))


def add_model_source(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help=MODEL_SOURCE_HELP)


def add_task_run_args(p: argparse.ArgumentParser, name_help: str) -> None:
    """Seeds, task split seed, scratch architecture and report name (probe and finetune)."""
    add_seeds(p)
    add_split_seed(p)
    add_scratch_model(p)
    p.add_argument("--name", help=name_help)


DEVICE = Flag(
    "--device", f"{DEVICES}; auto is CUDA when available, else CPU", device_name, "DEVICE"
)
PRECISION = Flag(
    "--precision",
    "auto: bf16-mixed on CUDA and on CPUs where bf16 is faster (AMX, or measured once and "
    "cached), else 32-true",
    precision_name,
    "{" + ",".join(PRECISIONS) + "}",
)
BATCH_SIZE = Flag("--batch-size", "sequences per forward pass", positive_int, "N")
ON_INVALID = Flag(
    "--on-invalid", "characters other than ACGTN/IUPAC/U: stop with an error or read as N"
)
"""Flags several commands share, each setting a key of the command's settings dataclass
(``settings.add(DEVICE, "features.device")``)."""


def add_device(p: argparse.ArgumentParser) -> None:
    """``--device`` of a command without a settings dataclass (None when not given: auto)."""
    p.add_argument(
        DEVICE.name, type=DEVICE.type, metavar=DEVICE.metavar, help=f"{DEVICE.help} (default auto)"
    )


def add_on_invalid(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """``--on-invalid error|n`` of a command that reads a task (not a settings key)."""
    p.add_argument(
        ON_INVALID.name,
        choices=("error", "n"),
        default=default,
        help=f"{ON_INVALID.help} (default error)",
    )


def add_report_out(p: argparse.ArgumentParser, default: str) -> None:
    """``--out`` (a report folder) and ``--force`` (replace the report already there)."""
    p.add_argument("--out", default=default, help=f"output directory (default {default})")
    p.add_argument(
        "--force", action="store_true", help="replace the report already in --out (same kind)"
    )


def check_report_out(args: argparse.Namespace, stem: str) -> None:
    """Before any work: ``--out`` is new, empty, or holds a ``stem`` report (with --force)."""
    from findna.eval.report import check_report_dir

    check_report_dir(args.out, stem, force=args.force)
