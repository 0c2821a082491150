"""``findna config show [KIND] [--config NAME]``: every key of a command's settings, with its
default (or a preset's value) and one line of help."""

import pytest

from findna.cli import main
from findna.cli.config_show import KINDS, settings_class
from findna.cli.fields import shown
from findna.config import config_to_dict


def _flat(data, prefix=""):
    for key, value in data.items():
        if isinstance(value, dict) and value:
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _show(capsys, *argv):
    assert main(["config", "show", *argv]) == 0
    return capsys.readouterr().out


def test_every_probe_key_is_listed_with_its_default(capsys):
    from findna.eval.probe import ProbeConfig

    rows = {line.split()[0]: line.split()[1] for line in _show(capsys, "probe").splitlines()[1:]}
    want = dict(_flat(config_to_dict(ProbeConfig())))
    assert want and set(rows) == set(want)
    for key, value in want.items():
        assert rows[key] == shown(value).split()[0], key
    assert "features.pooling" in rows and rows["features.pooling"] == "masked_mean"


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_lists_its_keys(kind, capsys):
    out = _show(capsys, kind)
    assert out.startswith(f"{kind} settings ({settings_class(kind).__name__})")
    assert len(out.splitlines()) > 2


def test_without_a_kind_the_kinds_are_listed(capsys):
    out = _show(capsys)
    for kind in KINDS:
        assert f"\n  {kind} " in out
    assert "knn, paper" in out  # the probe presets


def test_a_preset_shows_its_values_and_the_defaults_it_changes(capsys):
    out = _show(capsys, "probe", "--config", "knn")
    head = next(line for line in out.splitlines() if line.split()[0] == "head")
    assert head.split()[1:4] == ["knn", "[default", "linear]"]
    epochs = next(line for line in out.splitlines() if line.split()[0] == "epochs")
    assert "[default" not in epochs


def test_an_unknown_kind_is_an_error_naming_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["config", "show", "nope"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nope'" in err and "'probe'" in err and "'score-variants'" in err
    with pytest.raises(ValueError, match=r"unknown settings kind 'nope'; known: pretrain, probe"):
        settings_class("nope")
    assert main(["config", "show", "--config", "tiny"]) == 2
    assert "--config needs a KIND" in capsys.readouterr().err


@pytest.mark.parametrize(
    "kind", ["pretrain", "probe", "finetune", "benchmark", "embed", "plot-embeddings", "predict",
             "score-variants"],
)  # fmt: skip
def test_each_command_help_points_to_its_keys(kind, capsys):
    with pytest.raises(SystemExit):
        main([kind, "--help"])
    assert f"list the keys: findna config show {kind}" in capsys.readouterr().out


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_key_has_a_line_of_help(kind):
    """Each settings dataclass documents every field in its docstring's Attributes section."""
    from findna.cli.fields import iter_keys

    missing = [info.key for info in iter_keys(settings_class(kind)) if not info.help]
    assert not missing, f"document these in the Attributes section: {missing}"
