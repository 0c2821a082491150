import gzip

import pytest

from findna.cli import main
from findna.data import catalog
from findna.data.root import ENV_VAR
from findna.data.tasks import TASKS


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "rows"),
    [("h\n", 0), ("h\na\nb\n", 2), ("h\na\nb", 2), ("", 0)],
)
def test_count_data_rows(tmp_path, text, rows):
    assert catalog.count_data_rows(write(tmp_path / "t.csv", text)) == rows
    gz = tmp_path / "t.csv.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write(text)
    assert catalog.count_data_rows(gz) == rows


def fake_root(tmp_path):
    """A data root with one genome and only gue/EMP/H3 and nt/promoter_tata present."""
    write(tmp_path / "genomes" / "tiny.fa", ">c1\nACGTacgtNN\n>c2\nGGCC\n")
    dev = "".join(f"{'ACGT'[i % 4] * (i + 1)},{i % 2}\n" for i in range(20))
    write(tmp_path / "benchmarks/gue/EMP/H3/dev.csv", "sequence,label\n" + dev)
    write(tmp_path / "benchmarks/gue/EMP/H3/test.csv", "sequence,label\nAAAA,0\nCCCC,1\nGG,1\n")
    nt = "".join(f"{'ACGT'[i % 4] * 5}\tchr1:{i}|1\t{i % 2}\tpromoter_tata\n" for i in range(10))
    nt += "AAAA\tchr9:1|0\t0\tenhancers\n"
    write(
        tmp_path / "benchmarks/toy/nucleotide_transformer_tasks/train.tsv",
        "sequence\tname\tlabel\ttask\n" + nt,
    )
    return tmp_path


def test_listing_shows_genomes_tasks_counts_and_protocols(tmp_path):
    text = catalog.format_listing(fake_root(tmp_path))
    assert "tiny.fa" in text and "24 B" in text
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  ")}
    assert "dev 20, test 3" in lines["gue/EMP/H3"] and "val_from_dev" in lines["gue/EMP/H3"]
    assert "all 10" in lines["nt/promoter_tata"]
    assert "all 1" in lines["nt/enhancers"]
    assert "MISSING" in lines["gue/tf/0"]
    assert all(name in text for name in TASKS)
    assert "resplit_70_10_20" in lines and "nested_60_20_20" in lines


def test_info_for_a_task(tmp_path):
    text = catalog.format_info("gue/EMP/H3", root=fake_root(tmp_path))
    assert "metric mcc" in text and "protocol val_from_dev (seed 0)" in text
    split_lines = {ln.split()[0]: ln.split() for ln in text.splitlines() if ln.startswith("  ")}
    assert split_lines["train"][1] == "18" and split_lines["val"][1] == "2"
    assert split_lines["test"][1:3] == ["3", "2/4/4"]  # lengths 4, 4, 2
    assert "0: 1 (33.3%)  1: 2 (66.7%)" in text
    assert "train&test 0" in text


def test_task_stats_hand_computed(tmp_path):
    from findna.data.tasks import load_task

    data = load_task("gue/EMP/H3", root=fake_root(tmp_path))
    stats = catalog.task_stats(data)
    assert stats["test"] == {"rows": 3, "length": (2, 4.0, 4), "classes": [1, 2]}
    assert stats["train"]["rows"] + stats["val"]["rows"] == 20
    assert sum(stats["val"]["classes"]) == 2


def test_info_for_a_genome_by_name_or_stem(tmp_path):
    root = fake_root(tmp_path)
    for name in ("tiny.fa", "tiny"):
        text = catalog.format_info(name, root=root)
        assert "genome" in text and "records: 2" in text and "total_bp: 14" in text


def test_info_unknown_name_lists_tasks_hint_and_genomes(tmp_path):
    with pytest.raises(ValueError, match=r"unknown task 'nope'.*findna data list.*tiny.fa"):
        catalog.format_info("nope", root=fake_root(tmp_path))


def test_cli_data_list_and_info(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(ENV_VAR, str(fake_root(tmp_path)))
    assert main(["data", "list"]) == 0
    assert "gue/EMP/H3" in capsys.readouterr().out
    assert main(["data", "info", "gue/EMP/H3"]) == 0
    assert "val_from_dev" in capsys.readouterr().out
    assert main(["data", "info", "gue/EMP/H3x"]) == 2
    assert "unknown task" in capsys.readouterr().err
