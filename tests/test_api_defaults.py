"""The Python API and the CLI agree: each keyword default of an API function is what its command
gives when the option is left out (parsed through the real parser), and the settings dataclass's
default where the option is a settings key. The API passes settings as values, never as text."""

import inspect
from pathlib import Path

import pytest
import yaml

from findna import api
from findna.cli import build_parser
from findna.cli.benchmark import benchmark_settings
from findna.cli.downstream import embed_settings, predict_settings
from findna.config import parse_seeds

REPO = Path(__file__).parents[1]
NOT_OPTIONS = {"progress"}
"""Progress bars: on for a command in a terminal, off for a function by design."""

NO_COMMAND = {"load_model", "encode", "embed_to_file"}
"""No command of their own (``embed_to_file`` passes ``embed_file``'s options through)."""


def _task_args(argv):
    args = build_parser().parse_args(argv)
    return {
        "seeds": tuple(parse_seeds(args.seeds)),
        "out": args.out,
        "config": args.config,
        "settings": args.overrides or None,
        "scratch": args.scratch_model,
        "name": args.name,
        "force": args.force,
    }


def _embed(argv):
    args = build_parser().parse_args(argv)
    cfg = embed_settings(args)
    features = cfg.features
    return {
        "pooling": features.pooling,
        "rc_average": features.rc_average,
        "batch_size": features.batch_size,
        "device": features.device,
        "per_token": args.per_token,
        "max_len": cfg.max_len,
    }


def _embedder(argv):
    """``findna.Embedder``: ``findna embed``'s settings, less the file options and per_token."""
    values = {k: v for k, v in _embed(argv).items() if k != "per_token"}
    return {**values, "which": embed_settings(build_parser().parse_args(argv)).which}


def _predict(argv):
    cfg = predict_settings(build_parser().parse_args(argv))
    return {
        "batch_size": cfg.batch_size,
        "device": cfg.device,
        "precision": cfg.precision,
        "allow_longer": cfg.allow_longer,
    }


def _finetune(argv):
    args = build_parser().parse_args(argv)
    return {**_task_args(argv), "save_models": not args.no_save}


def _score_variants(argv):
    args = build_parser().parse_args(argv)
    return {
        "config": args.config,
        "settings": args.overrides or None,
        "scratch": args.scratch_model,
        "force": args.force,
    }


def _benchmark(argv):
    args = build_parser().parse_args(argv)
    return {
        "suite": args.suite,
        "config": args.config,
        "mode": args.mode,
        "seeds": args.seeds,
        "out": args.out,
        "settings": args.overrides or None,
        "force": args.force,
    }


def _pretrain(argv):
    args = build_parser().parse_args(argv)
    return {
        "config": args.config,
        "settings": args.overrides or None,
        "out": args.out,
        "resume": bool(args.resume),
        "force": args.force,
    }


def _load_task(argv):
    from findna.cli.args import task_options

    args = build_parser().parse_args(argv)
    return {"split_seed": args.split_seed, "task_options": task_options(args).given() or None}


CLI = {
    "embed": (_embed, ["embed", "in.fa", "--model", "scratch", "--out", "o.npy"]),
    "Embedder": (_embedder, ["embed", "in.fa", "--model", "scratch", "--out", "o.npy"]),
    "load_task": (_load_task, ["data", "info", "t"]),
    "probe": (_task_args, ["probe", "--task", "t", "--model", "m"]),
    "finetune": (_finetune, ["finetune", "--task", "t", "--model", "m"]),
    "predict": (_predict, ["predict", "in.fa", "--model", "m", "--out", "o.csv"]),
    "score_variants": (
        _score_variants,
        ["score-variants", "v.vcf", "--genome", "g.fa", "--model", "m", "--out", "o.tsv"],
    ),
    "benchmark": (_benchmark, ["benchmark", "--models", "scratch"]),
    "pretrain": (_pretrain, ["pretrain"]),
}


def _defaults(function):
    return {
        name: p.default
        for name, p in inspect.signature(function).parameters.items()
        if p.default is not inspect.Parameter.empty and name not in NOT_OPTIONS
    }


def test_every_api_function_is_compared():
    assert set(api.__all__) == set(CLI) | NO_COMMAND


@pytest.mark.parametrize("name", sorted(CLI))
def test_api_keyword_defaults_are_the_command_defaults(name):
    values, argv = CLI[name]
    got = values(argv)
    defaults = _defaults(getattr(api, name))
    assert set(defaults) == set(got), "compare every keyword of the function"
    for key, default in defaults.items():
        default = tuple(default) if isinstance(default, list) else default
        assert default == got[key], f"api.{name}({key}={default!r}) but `findna {argv[0]}` {got}"


def test_api_defaults_are_the_dataclass_defaults():
    from findna.cli.settings import PredictConfig
    from findna.eval.features import FeatureConfig

    embed, predict = _defaults(api.embed), _defaults(api.predict)
    features = FeatureConfig()
    for key in ("pooling", "rc_average", "batch_size", "device"):
        assert embed[key] == getattr(features, key), key
    for key in ("batch_size", "device", "precision"):
        assert predict[key] == getattr(PredictConfig(), key), key


@pytest.mark.parametrize(
    "flags",
    [
        [],
        ["--config", "emp_probe"],
        ["--config", "emp_probe", "--suite", "gb", "--seeds", "0", "--out", "o"],
        ["--mode", "finetune", "--config", str(REPO / "configs/benchmark/gb_finetune.yaml")],
        ["--set", "probe.epochs=3", "--seeds", "1,2"],
    ],
)
def test_api_benchmark_resolves_settings_as_the_command(flags, monkeypatch):
    """A preset's suite, seeds and folder hold unless an argument is given, as with the flags."""
    args = build_parser().parse_args(["benchmark", "--models", "a=r,scratch", *flags])
    given = {
        "suite": args.suite,
        "config": args.config,
        "mode": args.mode,
        "seeds": None if args.seeds is None else parse_seeds(args.seeds),
        "out": args.out,
        "settings": {k: yaml.safe_load(v) for k, v in (o.split("=") for o in args.overrides)},
    }
    monkeypatch.setattr(api, "run_benchmark", lambda cfg, force: cfg)
    assert api.benchmark(["a=r", "scratch"], **given) == benchmark_settings(args)


def test_settings_are_values_a_dataclass_or_dotted_keys():
    from findna.eval.probe import ProbeConfig
    from findna.train.config import PretrainConfig

    cfg = api._settings(ProbeConfig, "probe", "knn", {"features.pooling": "cls", "epochs": 3})
    assert (cfg.head, cfg.features.pooling, cfg.epochs) == ("knn", "cls", 3)
    lrs = api._settings(ProbeConfig, "probe", None, {"lrs": [1e-3, 3e-3]}).lrs
    assert tuple(lrs) == (1e-3, 3e-3)
    ready = ProbeConfig(epochs=7)
    assert api._settings(ProbeConfig, "probe", None, ready) is ready
    with pytest.raises(ValueError, match="not both"):
        api._settings(ProbeConfig, "probe", "knn", ready)
    out = api._settings(PretrainConfig, "pretrain", "tiny", None, run={"out_dir": "x"})
    assert out.run.out_dir == "x"
    nested = api._settings(PretrainConfig, "pretrain", None, {"optim": {"lr": 0.01}})
    assert nested.optim.lr == 0.01


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"epochz": 3}, r"unknown key\(s\) epochz; valid keys: .*epochs"),
        ({"features.pooling": "max"}, r"ProbeConfig\.features\.pooling: 'max' is not one of"),
        ({"epochs": "many"}, r"ProbeConfig\.epochs: expected an integer, got 'many'"),
        (["epochs=3"], r"settings must be a mapping of ProbeConfig keys or a ProbeConfig"),
    ],
)
def test_a_wrong_setting_names_its_key(settings, message):
    from findna.eval.probe import ProbeConfig

    with pytest.raises(ValueError, match=message):
        api._settings(ProbeConfig, "probe", None, settings)
