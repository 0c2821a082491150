"""The command line: every subcommand has --help, and user errors are one clear line."""

import subprocess
import sys

import pytest

from findna.cli import _COMMANDS, build_parser, main

SUBCOMMANDS = [
    "demo", "data", "prepare", "pretrain", "export", "plot-run", "finetune", "predict",
    "benchmark", "embed", "probe", "plot-embeddings", "bench",
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
