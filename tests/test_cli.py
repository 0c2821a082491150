"""The command line: every subcommand has --help, and user errors are one clear line."""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from findna.cli import _COMMANDS, build_parser, main

SUBCOMMANDS = [
    "demo", "data", "prepare", "pretrain", "export", "plot-run", "study", "finetune", "predict",
    "benchmark", "embed", "probe", "plot-embeddings", "score-variants", "bench", "config",
]  # fmt: skip


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in out
    assert len(_COMMANDS) == len(SUBCOMMANDS)


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([name, "--help"])
    assert exit_info.value.code == 0
    assert "usage: findna " + name in capsys.readouterr().out


def test_user_error_is_one_line_with_exit_code_2(tmp_path, capsys):
    code = main(["prepare", "genome", str(tmp_path / "missing.fa"), "--out", str(tmp_path / "o")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("findna: error:") and "missing.fa" in err[0]


def test_module_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "findna.cli", "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and "pretrain" in proc.stdout


@pytest.mark.parametrize("extra", [["--out", "elsewhere"], ["--set", "run.out_dir=elsewhere"]])
def test_pretrain_resume_rejects_a_new_out_dir(tmp_path, capsys, extra):
    code = main(["pretrain", "--resume", str(tmp_path / "run"), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert (
        f"--resume continues the run in {tmp_path / 'run'} itself; drop {' '.join(extra)}"
        in (err[0])
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["probe", "--task", "gue/EMP/H3", "--model", "scratch"],
        ["finetune", "--task", "gue/EMP/H3", "--model", "scratch"],
        ["benchmark", "--suite", "emp", "--models", "scratch"],
        ["demo"],
    ],
)
def test_bad_seeds_name_the_flag(argv, capsys, tmp_path):
    assert main([*argv, "--seeds", "0,x", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--seeds '0,x': 'x' is not an integer" in err and "invalid literal" not in err
    assert not (tmp_path / "o").exists()


# --- settings: --config NAME|YAML <- --set <- flags, one vocabulary, flags defined once -------

CLI_DIR = Path(__file__).resolve().parents[1] / "src" / "findna" / "cli"


@pytest.mark.parametrize(
    "flag", ["--seeds", "--split-seed", "--scratch-model", "--device", "--precision",
             "--batch-size", "--on-invalid", "--config", "--set", "--task"],
)  # fmt: skip
def test_shared_flags_are_defined_once(flag):
    sources = {p.name: p.read_text() for p in CLI_DIR.glob("*.py")}
    where = {name: text.count(f'"{flag}"') for name, text in sources.items()}
    assert sum(where.values()) == 1 and where["args.py"] == 1, where


def _captured(monkeypatch, module, name):
    """Replace ``module.name`` by a spy; returns the dict its keyword/positional args land in."""
    import importlib

    got = {}

    def spy(*args, **kwargs):
        got["args"], got["kwargs"] = args, kwargs
        raise SystemExit(0)

    monkeypatch.setattr(importlib.import_module(module), name, spy)
    return got


@pytest.fixture
def no_task(monkeypatch):
    """`resolve_task` and `load_task` return the name they were given: these tests only look at
    the settings."""
    import findna.data.tasks
    import findna.data.user_tasks

    monkeypatch.setattr(findna.data.user_tasks, "resolve_task", lambda name, options=None: name)
    monkeypatch.setattr(findna.data.tasks, "load_task", lambda name, seed=0, **kw: name)


def test_pretrain_config_takes_a_preset_name(monkeypatch, tmp_path):
    from findna.config import PRESETS_DIR, load_config
    from findna.train.config import PretrainConfig

    monkeypatch.chdir(tmp_path)  # names do not depend on the working directory
    got = _captured(monkeypatch, "findna.train.pretrain", "run_pretrain")
    with pytest.raises(SystemExit):
        main(["pretrain", "--config", "tiny", "--set", "optim.lr=0.01", "--out", "o"])
    want = load_config(PretrainConfig, PRESETS_DIR / "pretrain" / "tiny.yaml", ["optim.lr=0.01"])
    assert got["args"][0] == dataclasses.replace(
        want, run=dataclasses.replace(want.run, out_dir="o")
    )


def test_out_flag_wins_over_set(monkeypatch, tmp_path):
    got = _captured(monkeypatch, "findna.train.pretrain", "run_pretrain")
    with pytest.raises(SystemExit):
        main(["pretrain", "--config", "tiny", "--set", "run.out_dir=a", "--out", "b"])
    assert got["args"][0].run.out_dir == "b"


@pytest.mark.parametrize(
    "command, module, kind, name",
    [
        ("finetune", "findna.eval.finetune", "finetune", "tiny"),
        ("finetune", "findna.eval.finetune", "finetune", "gb_human_nontata_promoters"),
        ("probe", "findna.eval.probe", "probe", "paper"),
        ("probe", "findna.eval.probe", "probe", "knn"),
    ],
)
def test_task_commands_take_a_preset_name_or_path(
    command, module, kind, name, monkeypatch, tmp_path, no_task
):
    from findna.config import PRESETS_DIR, load_config

    monkeypatch.chdir(tmp_path)
    cls = {"finetune": "FinetuneConfig", "probe": "ProbeConfig"}[command]
    import importlib

    cls = getattr(importlib.import_module(module), cls)
    got = _captured(monkeypatch, module, f"{command}_task")
    path = PRESETS_DIR / kind / f"{name}.yaml"
    for config in (name, str(path)):
        with pytest.raises(SystemExit):
            main([command, "--task", "t", "--model", "scratch", "--config", config])
        assert got["args"][2] == load_config(cls, path)


def test_benchmark_config_takes_a_preset_name(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    got = _captured(monkeypatch, "findna.eval.benchmark", "run_benchmark")
    with pytest.raises(SystemExit):
        main(["benchmark", "--config", "gb_finetune", "--models", "scratch", "--seeds", "4,5"])
    cfg = got["args"][0]
    assert (cfg.suite, cfg.mode, cfg.per_task_presets, cfg.seeds) == (
        "gb",
        "finetune",
        True,
        [4, 5],
    )


def test_scratch_model_takes_a_preset_name(tmp_path):
    from findna.cli.args import scratch_config
    from findna.model.config import ModelConfig

    args = build_parser().parse_args(
        ["embed", "x.fa", "--model", "scratch", "--out", "o.npy", "--scratch-model", "tiny"]
    )
    assert scratch_config(args) == ModelConfig.tiny()


def test_demo_default_preset_is_found_from_any_directory(monkeypatch, tmp_path):
    from findna.config import PRESETS_DIR, preset_path

    monkeypatch.chdir(tmp_path)
    got = _captured(monkeypatch, "findna.workflows.demo", "run_demo")
    with pytest.raises(SystemExit):
        main(["demo", "--seeds", "3"])
    # The demo gets the name (its report shows it) and resolves it wherever it runs.
    assert got["kwargs"]["pretrain_config"] == "tiny"
    assert preset_path("pretrain", "tiny") == PRESETS_DIR / "pretrain" / "tiny.yaml"
    assert got["kwargs"]["seeds"] == [3]


def _settings(argv):
    from findna.cli import downstream

    args = build_parser().parse_args(argv)
    if argv[0] == "embed":
        return downstream.embed_settings(args)
    return downstream.plot_embeddings_settings(args)


EMBED = ["embed", "in.fa", "--model", "scratch", "--out", "o.npy"]
PLOT = ["plot-embeddings", "--task", "t", "--model", "scratch", "--out", "o.png"]


def test_embed_defaults_are_the_old_flag_defaults():
    from findna.eval.features import FeatureConfig

    cfg = _settings(EMBED)
    # n_cls None: the CLS rows the model was pretrained with, else 10 (was a fixed 10)
    assert cfg.features == FeatureConfig(
        pooling="masked_mean", n_cls=None, rc_average=False, batch_size=64, precision="32-true",
        device="auto",
    )  # fmt: skip
    assert (cfg.which, cfg.chunk_size, cfg.max_len, cfg.on_invalid) == (
        "teacher", 4096, None, "error",
    )  # fmt: skip
    plot = _settings(PLOT)
    assert plot.features == cfg.features
    assert (plot.split, plot.method, plot.max_points, plot.num_threads) == (
        "test",
        "tsne",
        5000,
        None,
    )


@pytest.mark.parametrize("base", [EMBED, PLOT], ids=["embed", "plot-embeddings"])
def test_embed_settings_order_defaults_config_set_flags(base, tmp_path):
    yaml = tmp_path / "s.yaml"
    yaml.write_text(
        "which: student\nfeatures:\n  pooling: cls\n  n_cls: 4\n  rc_average: true\n"
        "  batch_size: 8\n"
    )
    cfg = _settings([*base, "--config", str(yaml), "--set", "features.pooling=mean+cls",
                     "--set", "features.batch_size=16", "--batch-size", "32",
                     "--no-rc-average"])  # fmt: skip
    f = cfg.features
    assert (f.pooling, f.n_cls, f.rc_average, f.batch_size) == ("mean+cls", 4, False, 32)
    assert cfg.which == "student"  # from the YAML: no flag given
    assert _settings([*base, "--config", str(yaml), "--which", "teacher"]).which == "teacher"


def test_embed_set_reaches_command_options():
    cfg = _settings([*EMBED, "--set", "chunk_size=10", "--set", "max_len=300",
                     "--set", "length_mode=fixed", "--max-len", "200"])  # fmt: skip
    assert (cfg.chunk_size, cfg.max_len, cfg.length_mode) == (10, 200, "fixed")
    with pytest.raises(ValueError, match=r"unknown key\(s\) chunk_sise; valid keys: .*chunk_size"):
        _settings([*EMBED, "--set", "chunk_sise=10"])


def test_predict_settings_order(tmp_path, monkeypatch):
    got = _captured(monkeypatch, "findna.eval.predict", "predict_file")
    yaml = tmp_path / "p.yaml"
    yaml.write_text("batch_size: 7\nprecision: bf16-mixed\nchunk_size: 9\n")
    with pytest.raises(SystemExit):
        main(["predict", "in.fa", "--model", "m", "--out", "o.csv", "--config", str(yaml),
              "--set", "chunk_size=11", "--precision", "32-true", "--device", "cpu"])  # fmt: skip
    kw = got["kwargs"]
    assert (kw["batch_size"], kw["chunk_size"], kw["precision"], kw["device"]) == (
        7, 11, "32-true", "cpu",
    )  # fmt: skip
    assert kw["on_invalid"] == "error"


@pytest.mark.parametrize(
    "argv, message",
    [
        ([*EMBED, "--precision", "64"], "argument --precision: '64' is not allowed; use auto, "
         "32-true, bf16-mixed, 16-mixed"),
        ([*EMBED, "--device", "gpu"], "argument --device: 'gpu' is not allowed; use auto, cpu, "
         "cuda or cuda:N"),
        ([*EMBED, "--batch-size", "0"], "argument --batch-size: '0' is not allowed; use a "
         "positive integer"),
        ([*EMBED, "--chunk-size", "x"], "argument --chunk-size: 'x' is not allowed; use a "
         "positive integer"),
        ([*EMBED, "--n-cls", "-1"], "argument --n-cls: '-1' is not allowed; use an integer >= 0"),
        ([*PLOT, "--max-points", "0"], "argument --max-points: '0' is not allowed"),
        (["predict", "in.fa", "--model", "m", "--out", "o.csv", "--precision", "fp16"],
         "argument --precision: 'fp16' is not allowed; use auto, 32-true, bf16-mixed, 16-mixed"),
        ([*EMBED, "--on-invalid", "skip"], "argument --on-invalid: invalid choice: 'skip'"),
    ],
)  # fmt: skip
def test_bad_flag_values_name_the_flag_and_what_it_allows(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_setting_values_name_the_setting(tmp_path, capsys):
    code = main([*EMBED, "--set", "features.precision=half"])
    err = capsys.readouterr().err
    assert code == 2
    assert "features: precision must be one of auto, 32-true, bf16-mixed, 16-mixed, got 'half'" in (
        err
    )
    assert main([*EMBED, "--config", "nope"]) == 2
    assert "embed preset 'nope' is neither a YAML file nor a shipped preset" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("old, new", [("32", "32-true"), ("bf16", "bf16-mixed")])
def test_old_feature_precision_spellings_still_work_with_a_warning(old, new, tmp_path, caplog):
    cfg = _settings([*EMBED, "--precision", old])
    assert cfg.features.precision == new
    assert f"precision {old!r} is deprecated; read as {new!r}" in caplog.text
    yaml = tmp_path / "old.yaml"
    yaml.write_text(f'features:\n  precision: "{old}"\n')
    assert _settings([*PLOT, "--config", str(yaml)]).features.precision == new


def test_one_precision_vocabulary():
    import typing

    from findna.cli.settings import PredictConfig
    from findna.config import PRECISIONS
    from findna.eval.features import FeatureConfig
    from findna.eval.finetune_config import FinetuneConfig
    from findna.train.config import RunConfig

    assert PRECISIONS == ("auto", "32-true", "bf16-mixed", "16-mixed")
    hints = typing.get_type_hints
    assert typing.get_args(hints(FinetuneConfig)["precision"]) == PRECISIONS
    # Pretraining resolves "auto" itself before Lightning sees it (findna.precision).
    assert typing.get_args(hints(RunConfig)["precision"]) == PRECISIONS
    for name in PRECISIONS:
        assert FeatureConfig(precision=name).precision == name
        assert PredictConfig(precision=name).precision == name
