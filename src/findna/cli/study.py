"""``findna study``: pretraining variants x seeds, probed on a validation suite and ranked.

The handler imports lazily and holds no logic (see :mod:`findna.workflows.study`).
"""

from __future__ import annotations

import argparse

from findna.cli.args import add_overrides


def add_study(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "study",
        help="an ablation study: variants x pretraining seeds -> probes -> one ranked table",
        description="Pretrain every variant of STUDY.yaml (overrides of one base preset) with "
        "each pretraining seed, probe every run and a random network on the validation suite, "
        "and rank the variants by their validation suite mean (mean ± std over pretraining "
        "seeds). Starting it again reuses finished runs and resumes interrupted ones. Writes "
        "OUT/study.md, study.json, study.png; see configs/study/ for examples.",
    )
    p.add_argument("study", help="the study YAML (see findna.workflows.study.StudyConfig)")
    add_overrides(p, "study override, e.g. --set seeds=[0,1,2]")
    p.add_argument("--out", help="study folder (default: the YAML's out_dir)")
    p.add_argument(
        "--final",
        metavar="VARIANT",
        help="the variant chosen on validation: also report the test split, once, for it, the "
        "first variant, the baseline and scratch",
    )
    p.set_defaults(handler=_study)


def _study(args: argparse.Namespace) -> None:
    from findna.workflows.study import load_study_config, run_study

    overrides = [*args.overrides, *([f"out_dir={args.out}"] if args.out else [])]
    result = run_study(load_study_config(args.study, overrides), final=args.final)
    print(f"study written to {result.markdown}")
