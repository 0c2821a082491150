"""`--task PATH` end to end: probe, finetune, plot-embeddings, data info and benchmark on a user's
own folder, with a tiny scratch model; the reports name the task by its path and keep the label
mapping and how the missing split was filled."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from findna.cli import main
from findna.eval.benchmark import BenchmarkConfig, _resolve_tasks, run_benchmark
from findna.eval.probe import ProbeConfig
from findna.eval.report import BenchmarkReport
from findna.eval.suites import resolve_tasks
from findna.model.config import ModelConfig

TINY_YAML = "track_size: 4\nhidden: 16\nn_layers: 1\nmax_len: 64\n"


@pytest.fixture
def user_folder(tmp_path) -> Path:
    """train.csv (40 rows) and test.csv (20 rows) of 50 bp; labels "enhancer" (GC-rich) and
    "other" (AT-rich); no validation file."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "my_enhancers"
    folder.mkdir()
    for name, n in (("train", 40), ("test", 20)):
        rows = []
        for i in range(n):
            gc = i % 2 == 0
            p = [0.15, 0.35, 0.35, 0.15] if gc else [0.35, 0.15, 0.15, 0.35]
            rows.append(("".join(rng.choice(list("ACGT"), 50, p=p)), "enhancer" if gc else "other"))
        pd.DataFrame(rows, columns=["seq", "class"]).to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture
def tiny_yaml(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML)
    return path


def check_card(card: dict, folder: Path) -> None:
    assert card["source"] == str(folder) and card["protocol"] == "val_from_train"
    assert card["labels"] == {"enhancer": 0, "other": 1}
    assert card["splits"].startswith("given: train, test; val filled by val_from_train")


def test_probe_and_plot_embeddings_on_a_user_folder(user_folder, tiny_yaml, tmp_path, capsys):
    out = tmp_path / "probe"
    code = main(["probe", "--task", str(user_folder), "--label-column", "class", "--model",
                 "scratch", "--scratch-model", str(tiny_yaml), "--set", "head=knn",
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "probe.json").read_text())
    assert data["results"][0]["task"] == str(user_folder)
    assert 0.0 <= data["results"][0]["test_metrics"]["accuracy"] <= 1.0
    check_card(data["provenance"]["tasks"][str(user_folder)], user_folder)
    md = (out / "probe.md").read_text()
    assert f"- task {user_folder}: source {user_folder}; splits given: train, test" in md
    assert "labels enhancer = 0, other = 1" in md
    again = BenchmarkReport.from_json(out / "probe.json")  # round trip
    assert again.provenance.tasks == data["provenance"]["tasks"]
    png = tmp_path / "map.png"
    code = main(["plot-embeddings", "--task", str(user_folder), "--label-column", "class",
                 "--model", "scratch", "--scratch-model", str(tiny_yaml), "--method", "pca",
                 "--out", str(png)])  # fmt: skip
    assert code == 0 and png.read_bytes().startswith(b"\x89PNG")


def test_finetune_on_a_user_folder(user_folder, tiny_yaml, tmp_path, capsys):
    out = tmp_path / "ft"
    code = main(["finetune", "--task", str(user_folder), "--label-column", "class", "--model",
                 "scratch", "--scratch-model", str(tiny_yaml), "--config", "tiny", "--set",
                 "epochs=1", "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "finetune.json").read_text())
    assert data["results"][0]["task"] == str(user_folder)
    check_card(data["provenance"]["tasks"][str(user_folder)], user_folder)
    saved = json.loads((out / "seed0" / "task.json").read_text())
    assert saved["classes"] == ["enhancer", "other"]


def test_data_info_and_errors_on_the_command_line(user_folder, capsys):
    assert main(["data", "info", str(user_folder), "--label-column", "class"]) == 0
    text = capsys.readouterr().out
    assert f"task {user_folder}: your own data (split tables)" in text
    assert "labels: enhancer = 0, other = 1" in text and "val    4" in text
    assert main(["probe", "--task", str(user_folder), "--model", "scratch"]) == 2
    err = capsys.readouterr().err
    assert f"{user_folder / 'train.csv'}: no label column 'label'" in err
    assert "--label-column" in err


def test_a_benchmark_suite_of_user_paths(user_folder, tmp_path):
    yaml = tmp_path / "enh.yaml"
    yaml.write_text(f"name: enh_yaml\npath: {user_folder}\nlabel_column: class\nmetric: mcc\n")
    cfg = BenchmarkConfig(
        suite=f"{yaml}", models=["scratch"], mode="probe", seeds=[0],
        out_dir=str(tmp_path / "bench"), probe=ProbeConfig(head="knn"),
        scratch_model=ModelConfig(track_size=4, hidden=16, n_layers=1, max_len=64),
    )  # fmt: skip
    report = run_benchmark(cfg)
    assert [r.task for r in report.results] == ["enh_yaml"]
    card = report.provenance.tasks["enh_yaml"]
    assert card["source"] == f"{yaml} (data {user_folder})"
    check_card({**card, "source": str(user_folder)}, user_folder)
    md = (tmp_path / "bench" / "results.md").read_text()
    assert "| enh_yaml (mcc) |" in md and "labels enhancer = 0, other = 1" in md


def test_a_suite_may_list_user_paths(user_folder):
    assert resolve_tasks(str(user_folder)) == [str(user_folder)]
    assert resolve_tasks(f"gue/EMP/H3,{user_folder}") == ["gue/EMP/H3", str(user_folder)]
    with pytest.raises(ValueError, match="unknown task 'gue/EMP/H3x'"):
        resolve_tasks(f"gue/EMP/H3x,{user_folder}")


@pytest.mark.data
def test_a_benchmark_mixes_a_registry_task_and_a_user_folder(shared_data, user_folder, tmp_path):
    yaml = tmp_path / "enh.yaml"
    yaml.write_text(f"path: {user_folder}\nlabel_column: class\nsequence_column: seq\n")
    code = main(["benchmark", "--suite", f"dnabert/dev_6mer,{yaml}", "--models", "scratch",
                 "--seeds", "0", "--set", "probe.head=knn", "--set",
                 "scratch_model.track_size=4", "--set", "scratch_model.n_layers=1",
                 "--out", str(tmp_path / "b")])  # fmt: skip
    assert code == 0
    data = json.loads((tmp_path / "b" / "results.json").read_text())
    assert [r["task"] for r in data["results"]] == ["dnabert/dev_6mer", str(yaml)]
    assert data["provenance"]["tasks"]["dnabert/dev_6mer"]["source"] == "findna task registry"
    check_card({**data["provenance"]["tasks"][str(yaml)], "source": str(user_folder)}, user_folder)


def test_the_python_api_loads_a_user_task(user_folder, tmp_path):
    from findna.api import load_task

    yaml = tmp_path / "enh.yaml"
    yaml.write_text(f"name: enh\npath: {user_folder}\nlabel_column: class\n")
    task = load_task(str(yaml), split_seed=1)
    assert task.spec.name == "enh" and task.spec.classes == ("enhancer", "other")
    assert (len(task.train), len(task.val), len(task.test)) == (36, 4, 20)


def test_benchmark_column_flags_apply_to_the_users_tables(user_folder, tmp_path, capsys):
    for split in ("train", "test"):  # a second label column: the same classes, other names
        df = pd.read_csv(user_folder / f"{split}.csv")
        df["kind"] = df["class"].map({"enhancer": "yes", "other": "no"})
        df.to_csv(user_folder / f"{split}.csv", index=False)
    out = tmp_path / "bench"
    args = ["benchmark", "--suite", str(user_folder), "--models", "scratch", "--seeds", "0",
            "--set", "probe.head=knn", "--set", "scratch_model={track_size: 4, hidden: 16, "
            "n_layers: 1, max_len: 64}", "--out", str(out)]  # fmt: skip
    assert main([*args, "--label-column", "class"]) == 0, capsys.readouterr().err
    data = json.loads((out / "results.json").read_text())
    check_card(data["provenance"]["tasks"][str(user_folder)], user_folder)
    assert "label_column: class" in (out / "config.yaml").read_text()
    # Without the flag the user's table has no 'label' column: the reader's error, with the fix.
    assert main([*args, "--out", str(tmp_path / "other")]) == 2
    err = capsys.readouterr().err
    assert "no label column 'label'" in err and "--label-column" in err
    # Another column under the same --out is other data: refused, not silently reused.
    assert main([*args, "--label-column", "kind"]) == 2
    assert "made with other settings" in capsys.readouterr().err
    assert main([*args, "--label-column", "kind", "--out", str(tmp_path / "kind")]) == 0
    # On registered tasks alone the flags would do nothing: an error that says so.
    assert main(["benchmark", "--suite", "gue/EMP/H3", "--models", "scratch", "--label-column",
                 "class", "--out", str(tmp_path / "reg")]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "label_column=class set, but no task of the suite (gue/EMP/H3) is the path" in err
    assert "add the path of your data to --suite" in err
    # Beside a registered task the flags reach the user's table only.
    mixed = _resolve_tasks(BenchmarkConfig(label_column="kind"), ["gue/EMP/H3", str(user_folder)])
    assert [t.label_column for t in mixed] == ["label", "kind"]
