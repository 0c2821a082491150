import pytest

from findna.data.root import ENV_VAR, data_root


def test_env_var_wins(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert data_root() == tmp_path


def test_env_var_pointing_nowhere_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        data_root()


def test_missing_default_names_both(monkeypatch, tmp_path):
    import findna.data.root as root

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(root, "DEFAULT_ROOTS", (tmp_path / "a", tmp_path / "b"))
    with pytest.raises(FileNotFoundError) as err:
        data_root()
    msg = str(err.value)
    assert ENV_VAR in msg and str(tmp_path / "a") in msg and str(tmp_path / "b") in msg
