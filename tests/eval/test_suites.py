"""Suite helpers: the data files of a task, resolved against an explicit data root."""

from pathlib import Path

from findna.data.catalog import data_files, is_available, task_files
from findna.data.tasks import TaskSpec, fasta_class_task, folder_task


def test_data_files_expand_folders_and_use_the_given_root(tmp_path):
    for split in ("train", "test"):
        for cls in ("a", "b"):
            (tmp_path / "ds" / split / cls).mkdir(parents=True)
            (tmp_path / "ds" / split / cls / "0.txt").write_text("ACGT")
    spec = folder_task("gb/mine", "ds")  # relative: resolved against the root passed in
    files = data_files(spec, tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in files] == [
        "ds/train/a/0.txt", "ds/train/b/0.txt", "ds/test/a/0.txt", "ds/test/b/0.txt",
    ]  # fmt: skip
    assert is_available(spec, tmp_path) and not is_available(spec, tmp_path / "elsewhere")


def test_data_files_include_class_files_and_the_genome(tmp_path):
    spec = fasta_class_task("mtcdna/x", {0: ["t.fa"], 1: ["m.fa", "m2.fa"]}, max_len=10)
    assert data_files(spec, tmp_path) == [tmp_path / "t.fa", tmp_path / "m.fa", tmp_path / "m2.fa"]
    coords = TaskSpec(
        "c", "gb", {"train": "tr"}, "coordinates", 2, "accuracy", "val_from_train", genome="/g.fa"
    )
    assert task_files(coords, tmp_path) == [tmp_path / "tr", Path("/g.fa")]  # absolute stays
