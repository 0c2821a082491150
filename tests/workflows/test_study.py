"""findna study: 2 variants x 2 pretraining seeds on a micro network, probed and ranked."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from findna.cli import main
from findna.config import preset_names
from findna.data.tasks import TaskSpec
from findna.eval.probe import ProbeConfig
from findna.workflows.study import StudyConfig, load_study_config, pretrain_config, run_study
from findna.workflows.study_report import CONFLICT, diagnostics, late_diagnostics

BASE = Path(__file__).resolve().parents[1] / "fixtures" / "legacy_0_1_0" / "run" / "config.yaml"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A synthetic genome and a 2-class motif task (GC-rich vs AT-rich), 24-32 bp."""
    tmp = tmp_path_factory.mktemp("study_inputs")
    rng = np.random.default_rng(0)
    with open(tmp / "g.fa", "w") as f:
        for name, n in (("chrA", 6000), ("chrB", 3000)):
            f.write(f">{name}\n" + "".join(rng.choice(list("ACGT"), size=n)) + "\n")
    seqs, labels = [], []
    for i in range(90):
        p = [0.1, 0.4, 0.4, 0.1] if i % 2 else [0.4, 0.1, 0.1, 0.4]
        seqs.append("".join(rng.choice(list("ACGT"), size=int(rng.integers(24, 33)), p=p)))
        labels.append(i % 2)
    pd.DataFrame({"sequence": seqs, "label": labels}).to_csv(tmp / "task.csv", index=False)
    files = {"all": str(tmp / "task.csv")}
    task = TaskSpec(
        "synthetic/gc",
        "toy",
        files,
        "table",
        num_classes=2,
        metric="mcc",
        protocol="resplit_70_10_20",
        max_len=32,
    )
    return tmp, task


def _study(tmp: Path, out: Path, **changes) -> StudyConfig:
    settings = dict(
        preset=str(BASE),
        variants={"findna": [], "cm-mnm": ["ssl.variant=cm-mnm"]},
        overrides=[
            f"data.genome={tmp / 'g.fa'}",
            "optim.max_steps=3",
            "run.accelerator=cpu",
            "run.progress_bar=false",
        ],
        seeds=[0, 1],
        probe=ProbeConfig(epochs=3, lrs=(0.01,)),
        out_dir=str(out),
    )
    return StudyConfig(**{**settings, **changes})


@pytest.mark.slow
def test_study_ranks_variants_on_validation_and_resumes(inputs, tmp_path, capsys):
    tmp, task = inputs
    cfg = _study(tmp, tmp_path / "study")
    result = run_study(cfg, tasks=[task])
    out = tmp_path / "study"
    runs = sorted(p.relative_to(out).as_posix() for p in out.glob("runs/*/seed*"))
    assert runs == [
        "runs/cm-mnm/seed0",
        "runs/cm-mnm/seed1",
        "runs/findna/seed0",
        "runs/findna/seed1",
    ]
    assert all((out / r / "curves.png").is_file() for r in runs)
    assert len((out / "runs.jsonl").read_text().splitlines()) == 4
    out_lines = capsys.readouterr().out
    # Seed-major order: every variant at seed 0 before any at seed 1.
    assert "[2/4] pretrain cm-mnm seed 0:" in out_lines
    assert "[3/4] pretrain findna seed 1:" in out_lines
    assert "[4/4] pretrain cm-mnm seed 1:" in out_lines

    # Hand-computed: the suite mean of a variant is the mean over pretraining seeds of its
    # validation MCC (one task, one probe seed), and the std is over those two runs.
    bench = json.loads((out / "benchmark" / "results.json").read_text())["results"]
    val = {r["model"]: r["val_metrics"]["mcc"] for r in bench}
    table = result.table.set_index(["variant", "task"])
    for variant in ("findna", "cm-mnm"):
        per_seed = [val[f"{variant}@s0"], val[f"{variant}@s1"]]
        row = table.loc[(variant, "suite mean")]
        assert row["mean"] == pytest.approx(np.mean(per_seed))
        assert row["std"] == pytest.approx(np.std(per_seed, ddof=1))
        assert row["count"] == 2
    assert table.loc[("scratch", "suite mean"), "count"] == 1
    ranks = result.table.drop_duplicates("variant").sort_values("rank")
    means = [table.loc[(v, "suite mean"), "mean"] for v in ranks["variant"]]
    assert means == sorted(means, reverse=True)

    text = (out / "study.md").read_text()
    assert "(val split)" in text and "used to rank" in text and "test split" not in text
    assert "vs cm-mnm" in text and (out / "study.png").is_file()
    # The end-of-run diagnostics: the mean over seeds of each run's summary.json values.
    ent = [
        json.loads((out / f"runs/findna/seed{s}/summary.json").read_text())["train/teacher_entropy"]
        for s in (0, 1)
    ]
    row = next(line for line in text.splitlines() if line.startswith("| findna | "))
    assert f"| {np.mean(ent):.2f} ± {np.std(ent, ddof=1):.2f} |" in row
    cm_row = next(line for line in text.splitlines() if line.startswith("| cm-mnm | "))
    assert cm_row.split("|")[3].strip() == "–"  # no teacher: no entropy

    # Run again: every pretraining run is reused; --final adds the one look at the test split.
    again = run_study(cfg, final="findna", tasks=[task])
    assert "[1/4] pretrain findna seed 0: reused" in capsys.readouterr().out
    assert len((out / "runs.jsonl").read_text().splitlines()) == 4
    pd.testing.assert_frame_equal(again.table, result.table)
    final = (out / "study.md").read_text()
    assert "(test split)" in final and "never used to rank" in final

    def refuse(name):
        raise AssertionError(f"study.json holds {name}, which is not JSON")

    study_json = json.loads((out / "study.json").read_text(), parse_constant=refuse)
    assert study_json["final"] == "findna"

    # Another view of the same runs: runs_from probes them (here the students) in a folder of
    # its own, without pretraining or writing anything into the first study's folder.
    before = sorted(p for p in out.rglob("*") if "benchmark" not in p.parts)
    view = _study(tmp, tmp_path / "view", runs_from=str(out), network="student")
    viewed = run_study(view, tasks=[task])
    assert "[4/4] pretrain cm-mnm seed 1: reused" in capsys.readouterr().out
    assert sorted(p for p in out.rglob("*") if "benchmark" not in p.parts) == before
    assert not (tmp_path / "view" / "runs").exists()
    md = (tmp_path / "view" / "benchmark" / "results.md").read_text()
    models = md.split("| model | source | network | checkpoint |\n|---|---|---|---|\n")[1]
    rows = [line.split(" | ") for line in models.split("\n\n")[0].splitlines()]
    networks = {network for name, _, network, _ in rows if "@s" in name}
    assert networks == {"student"}
    assert "Network probed: student, features: masked_mean" in viewed.markdown.read_text()
    assert set(viewed.table["variant"]) == set(result.table["variant"])

    # A variant changed under the same folder is refused, not silently reused.
    changed = _study(
        tmp, out, variants={"findna": ["ssl.alpha=0.3"], "cm-mnm": cfg.variants["cm-mnm"]}
    )
    with pytest.raises(ValueError, match=r"other settings \(ssl\)"):
        run_study(changed, tasks=[task])


def test_study_config_errors(tmp_path):
    with pytest.raises(ValueError, match="variant name 'a b'"):
        StudyConfig(variants={"a b": []})
    with pytest.raises(ValueError, match="variant name 'scratch'"):
        StudyConfig(variants={"scratch": []})
    with pytest.raises(ValueError, match="study.seeds must list distinct seeds"):
        StudyConfig(seeds=[0, 0])
    with pytest.raises(ValueError, match="study.baseline 'x' is not a variant"):
        StudyConfig(baseline="x")
    with pytest.raises(ValueError, match="give a list of key=value strings"):
        StudyConfig(variants={"a": "ssl.alpha=0.3"})
    path = tmp_path / "s.yaml"
    path.write_text("variants:\n  a: []\n  b: [ssl.alpha=0.3]\nbaseline: b\nseeds: [3, 4]\n")
    cfg = load_study_config(path, ["probe_seeds=[1,2]"])
    assert (cfg.variants["b"], cfg.seeds, cfg.probe_seeds) == (["ssl.alpha=0.3"], [3, 4], [1, 2])
    with pytest.raises(ValueError, match="--final 'c' is not a variant"):
        run_study(cfg, final="c")
    empty = StudyConfig(runs_from=str(tmp_path / "none"), out_dir=str(tmp_path / "view"))
    with pytest.raises(ValueError, match=r"runs_from .*none: no finished run of findna seed 0"):
        run_study(empty)


def test_study_command_help():
    with pytest.raises(SystemExit) as exit_info:
        main(["study", "--help"])
    assert exit_info.value.code == 0


@pytest.mark.parametrize("name", preset_names("study"))
def test_shipped_studies_resolve_every_run(name, tmp_path):
    cfg = load_study_config(name, [f"out_dir={tmp_path}"])
    assert cfg.baseline in cfg.variants and len(cfg.seeds) >= 2
    for variant in cfg.variants:
        run = pretrain_config(cfg, variant, cfg.seeds[-1])
        assert run.run.seed == cfg.seeds[-1]
        root = Path(cfg.runs_from) if cfg.runs_from else tmp_path
        assert run.out_dir == root / "runs" / variant / f"seed{cfg.seeds[-1]}"


def test_the_whole_study_is_checked_before_the_first_run(inputs, tmp_path):
    """Issue 22 WEAK: a typo in the second variant was found only after pretraining the first.
    Every variant x seed's config, its genome and the probes' data are checked first; nothing
    is written."""
    tmp, task = inputs
    out = tmp_path / "study"
    typo = _study(tmp, out, variants={"findna": [], "cm-mnm": ["ssl.varaint=cm-mnm"]})
    expected = r"study variant 'cm-mnm' \(seed 0\): ssl\.varaint=cm-mnm .*unknown key\(s\) varaint"
    with pytest.raises(ValueError, match=expected + r".*Fix variants\.cm-mnm"):
        run_study(typo, tasks=[task])
    value = _study(tmp, out, variants={"findna": [], "cm-mnm": ["ssl.variant=cm-mn"]})
    with pytest.raises(ValueError, match=r"study variant 'cm-mnm' \(seed 0\): .*'cm-mn' is not"):
        run_study(value, tasks=[task])
    shared = _study(tmp, out, overrides=[*_study(tmp, out).overrides, "optim.lrr=1"])
    with pytest.raises(ValueError, match=r"study overrides: optim\.lrr=1 .*unknown key\(s\) lrr"):
        run_study(shared, tasks=[task])
    genome = {"findna": [], "cm-mnm": [f"data.genome={tmp / 'typo.fa'}"]}
    with pytest.raises(FileNotFoundError, match=r"study variant 'cm-mnm': data\.genome: \S*typo"):
        run_study(_study(tmp, out, variants=genome), tasks=[task])
    gone = dataclasses.replace(task, files={"all": str(tmp / "gone.csv")})
    expected = r"study suite: task synthetic/gc: \S*gone\.csv does not exist.*nothing was"
    with pytest.raises(FileNotFoundError, match=expected):
        run_study(_study(tmp, out), tasks=[gone])
    assert not out.exists()


def test_a_two_step_study_shows_the_conflict_diagnostics(inputs, tmp_path):
    """Issue 21: each run logs the conflict diagnostics and study.md tabulates them per variant."""
    tmp, task = inputs
    variants = {
        "levers": [
            "model.special_inputs=distinct",
            "model.cls_rows=2",
            "ssl.centering=sinkhorn",
            "ssl.ema_horizon_frac=0.5",
            "ssl.cl_stop_input_grad=true",
        ],
        "cm-mnm-ema": ["ssl.variant=cm-mnm", "ssl.ema_copy=true", "ssl.ema_horizon_frac=0.5"],
    }
    cfg = _study(
        tmp,
        tmp_path / "study",
        variants=variants,
        seeds=[0],
        baseline=None,
        scratch=False,
        overrides=[
            f"data.genome={tmp / 'g.fa'}",
            "optim.max_steps=2",
            "run.accelerator=cpu",
            "run.progress_bar=false",
            "run.diagnostics_every=1",
            "run.log_every_n_steps=1",
        ],
    )
    run_study(cfg, tasks=[task])
    out = tmp_path / "study"
    summary = json.loads((out / "runs/levers/seed0/summary.json").read_text())
    assert summary["diag/grad_cl_input"] == 0.0  # CL stopped at the input layer
    assert -1.0 <= summary["diag/grad_cos"] <= 1.0 and summary["diag/grad_mnm"] > 0
    text = (out / "study.md").read_text()
    section = text.split("## Conflict diagnostics")[1]
    header = "| variant | MNM grad norm | CL grad norm | cos | abs cos | cos input | cos head |"
    assert header in section
    lines = [line for line in section.splitlines() if line.startswith(("| levers", "| cm-mnm"))]
    rows = {line.split(" | ")[0][2:]: line.split(" | ") for line in lines}
    assert set(rows) == {"levers", "cm-mnm-ema"}
    assert rows["cm-mnm-ema"][2] == "–"  # no CL term
    assert float(rows["levers"][1]) == pytest.approx(summary["diag/grad_mnm"], rel=1e-2)
    # With a 1-step window (0.5 x 2 steps) the EMA network copies the student: no initial
    # weights are left in either run.
    assert all(rows[v][-1].strip(" |") == "0" for v in rows)
    # The EMA copy of cm-mnm is the run's exported model (not the student).
    from safetensors.torch import load_file

    from findna.model.loading import read_checkpoint

    run = out / "runs/cm-mnm-ema/seed0"
    exported = load_file(run / "model" / "model.safetensors")["embed.weight"]
    state = read_checkpoint(run / "checkpoints" / "final.ckpt")["state_dict"]
    assert torch.equal(exported, state["model.teacher.embed.weight"])
    assert not torch.equal(exported, state["model.student.embed.weight"])
    metrics_csv = (run / "logs").rglob("metrics.csv")
    assert any("diag/grad_mnm" in p.read_text().splitlines()[0] for p in metrics_csv)
    assert json.loads((out / "study.json").read_text())["conflict"]["levers"]


def test_conflict_diagnostics_average_the_diagnostic_steps_of_the_second_half(tmp_path):
    """One diagnostic step is noise (the tiny paper run's cosine swings from -0.92 to +0.80
    between two of them): the table averages the second half's diagnostic steps."""
    log = tmp_path / "logs" / "csv" / "version_0"
    log.mkdir(parents=True)
    # Diagnostics every 4 steps (rows 3, 7, 11, 15); the rows between repeat the last value.
    rows = ["step,diag/grad_cos,diag/grad_mnm,train/loss"]
    values = {3: (-0.9, 1.0), 7: (0.8, 2.0), 11: (-0.6, 3.0), 15: (0.2, 5.0)}
    last = values[3]
    for step in range(3, 16):
        last = values.get(step, last)
        rows.append(f"{step},{last[0]},{last[1]},0.5")
    (log / "metrics.csv").write_text("\n".join(rows) + "\n")
    means = late_diagnostics(tmp_path, every=4)
    # Second half: steps >= 7.5, i.e. the diagnostics of steps 11 and 15.
    assert means["diag/grad_cos"] == pytest.approx(-0.2)
    assert means["diag/grad_cos_abs"] == pytest.approx(0.4)
    assert means["diag/grad_mnm"] == pytest.approx(4.0)
    assert "train/loss" not in means
    assert late_diagnostics(tmp_path / "missing", every=4) == {}


def test_the_conflict_table_never_shows_a_last_step_under_the_second_half_header(tmp_path):
    """A run without a diagnostics log (metrics.csv gone) shows '–', not summary.json's last
    diagnostic step, which the table's header does not describe."""
    cfg = StudyConfig(variants={"findna": []}, seeds=[0], baseline=None, out_dir=str(tmp_path))
    run = tmp_path / "runs" / "findna" / "seed0"
    run.mkdir(parents=True)
    summary = {"diag/grad_cos": -0.5, "diag/grad_mnm": 0.3, "val/mnm_acc": 0.4}
    (run / "summary.json").write_text(json.dumps(summary))
    conflict = diagnostics(cfg, CONFLICT)
    assert np.isnan(conflict.loc["findna", ("diag/grad_cos", "mean")])
    assert np.isnan(conflict.loc["findna", ("diag/grad_mnm", "mean")])
    assert diagnostics(cfg).loc["findna", ("val/mnm_acc", "mean")] == pytest.approx(0.4)
