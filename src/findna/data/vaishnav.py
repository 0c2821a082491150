"""The yeast promoter expression tasks of Vaishnav et al. 2022 (regression; issue 23).

Files under ``<data root>/benchmarks/vaishnav2022`` (its README): 110 bp promoters, the measured
expression (``Measured Expression``, log-scale) the target, ``Predicted Expression`` the
published model's prediction: a peer to compare with on the same test rows
(:func:`findna.data.joined.peer_predictions`), never a target or a feature (the reader reads
only the sequence and target columns). The files are the paper's held-out test sets, so every
task here is one pool of rows re-split, seeded, 70/10/20 with the run's split seed
(``--split-seed``, default 0; regression is never stratified). The native files hold 200
promoters with about 20 mutational variants each, 1-5 mismatches apart: a random split leaks
them into training (every test row within 5 mismatches of a training row), so the native tasks
split whole near-duplicate groups (``grouped_70_10_20``, :mod:`findna.data.near_duplicates`);
the random promoters share nothing (median 46 mismatches to the nearest other row) and are
split at random (``resplit_70_10_20``).
"""

from __future__ import annotations

from findna.data.task_spec import TaskSpec

FOLDER = "benchmarks/vaishnav2022"
TARGET_COLUMN = "Measured Expression"
PEER_COLUMN = "Predicted Expression"
LENGTH = 110
RANDOM_SPLIT = "seeded random 70/10/20 re-split of all rows (resplit_70_10_20)"
GROUPED_SPLIT = (
    "seeded 70/10/20 re-split of whole near-duplicate groups, each promoter's variants on one "
    "side (grouped_70_10_20)"
)

_ONE_FILE = {  # task -> (file, description, protocol)
    "native_complex": (
        "Native_complex.csv",
        "native yeast promoters, complex medium (3,733)",
        "grouped_70_10_20",
    ),
    "native_defined": (
        "Native_defined.csv",
        "native yeast promoters, defined medium (3,782)",
        "grouped_70_10_20",
    ),
    "random_complex": (
        "Random_complex.csv",
        "random 80 bp promoters, complex medium (2,954)",
        "resplit_70_10_20",
    ),
}
_SPLITS = {"grouped_70_10_20": GROUPED_SPLIT, "resplit_70_10_20": RANDOM_SPLIT}


def vaishnav_tasks() -> list[TaskSpec]:
    """The four registered Vaishnav tasks: one target (``expression``) per file, and
    ``native_both``: the 3,727 native sequences measured in both media (targets ``complex`` and
    ``defined``), the two Native files joined on the sequence."""
    common = dict(
        suite="vaishnav2022",
        format="table",
        num_classes=0,
        metric="pearson",
        max_len=LENGTH,
        sequence_column="sequence",
        task_type="regression",
        peer_column=PEER_COLUMN,
    )
    specs = [
        TaskSpec(
            name=f"vaishnav2022/{task}",
            files={"all": f"{FOLDER}/{file}"},
            description=f"expression of {desc}; {_SPLITS[protocol]}",
            targets=("expression",),
            target_columns=(TARGET_COLUMN,),
            protocol=protocol,
            **common,  # type: ignore[arg-type]
        )
        for task, (file, desc, protocol) in _ONE_FILE.items()
    ]
    specs.append(
        TaskSpec(
            name="vaishnav2022/native_both",
            files={
                "complex": f"{FOLDER}/Native_complex.csv",
                "defined": f"{FOLDER}/Native_defined.csv",
            },
            description="expression of native yeast promoters in complex and defined medium "
            f"(2 targets; the 3,727 sequences in both Native files, joined); {GROUPED_SPLIT}",
            targets=("complex", "defined"),
            target_columns=(TARGET_COLUMN, TARGET_COLUMN),
            join_column="sequence",
            protocol="grouped_70_10_20",
            **common,  # type: ignore[arg-type]
        )
    )
    return specs
