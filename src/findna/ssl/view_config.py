"""The two views' settings (``ViewConfig``) and presets (``VIEW_PRESETS``). No torch: ``findna
pretrain --help`` and ``findna config show pretrain`` read them; :mod:`findna.ssl.views` builds
the views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RANDOM_FROM = ("acgt", "acgtn")
"""What a randomly replaced masked position may become (``mask_random_from``)."""


def check_mask_params(
    ratio: float, p_zero: float, p_random: float, p_keep: float, random_from: str
) -> None:
    """Raise ValueError with a fix-it message for invalid masking parameters."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"mask ratio must be in [0, 1], got {ratio}")
    for name, value in (("p_zero", p_zero), ("p_random", p_random), ("p_keep", p_keep)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"mask {name} must be in [0, 1], got {value}")
    total = p_zero + p_random + p_keep
    if abs(total - 1.0) > 1e-6:
        raise ValueError(
            f"mask p_zero + p_random + p_keep must sum to 1, got {p_zero} + {p_random} + "
            f"{p_keep} = {total}; e.g. 0.8/0.1/0.1 (BERT) or 1/0/0 (all zero vectors)"
        )
    if random_from not in RANDOM_FROM:
        raise ValueError(f"mask random_from must be 'acgt' or 'acgtn', got {random_from!r}")


Step = Literal[
    "deletion", "insertion", "translocation", "inversion", "mutation", "mask", "noise", "rc"
]
Target = Literal["before_mask", "original"]
PresetName = Literal["paper", "reference", "m_noaug", "m_dit", "mdt_dit", "mdt_nr"]


@dataclass(frozen=True)
class ViewRecipe:
    """What a preset does: the student and teacher step chains and the MNM target."""

    student: tuple[str, ...]
    teacher: tuple[str, ...]
    target: Target = "before_mask"
    random_from: Literal["acgt", "acgtn"] = "acgt"


_DIT = ("deletion", "insertion", "translocation")
VIEW_PRESETS: dict[str, ViewRecipe] = {
    "paper": ViewRecipe(student=(*_DIT, "mask"), teacher=("noise", "rc")),
    "reference": ViewRecipe(
        student=("mask", "noise", "rc"),
        teacher=("translocation",),
        target="original",
        random_from="acgtn",
    ),
    "m_noaug": ViewRecipe(student=("mask",), teacher=()),
    "m_dit": ViewRecipe(student=("mask",), teacher=_DIT),
    "mdt_dit": ViewRecipe(student=("deletion", "translocation", "mask"), teacher=_DIT),
    "mdt_nr": ViewRecipe(student=(*_DIT, "mask"), teacher=("noise", "rc")),
}

_CODE_STEPS = ("deletion", "insertion", "translocation", "inversion", "mutation", "mask")
# Steps that move bases to other positions (mutation and noise change values in place).
_MOVING_STEPS = ("deletion", "insertion", "translocation", "inversion", "rc")
_STEPS = (*_CODE_STEPS, "noise", "rc")
DTYPES = ("float32", "bfloat16")
"""Names of the view dtypes (``ViewConfig.dtype``)."""


def _check_chain(steps: tuple[str, ...], who: str) -> None:
    unknown = [s for s in steps if s not in _STEPS]
    if unknown:
        raise ValueError(f"{who} steps: unknown {unknown}; valid steps: {', '.join(_STEPS)}")
    if "noise" in steps:
        late = [s for s in steps[steps.index("noise") :] if s in _CODE_STEPS]
        if late:
            raise ValueError(
                f"{who} steps {list(steps)}: {late} cannot follow 'noise' (code edits need integer "
                "codes); put them before 'noise'"
            )
    n_mask = steps.count("mask")
    if who == "teacher" and n_mask:
        raise ValueError("teacher steps: 'mask' is only allowed in the student chain")
    if who == "student" and n_mask != 1:
        raise ValueError(
            f"student steps {list(steps)} must contain 'mask' exactly once (use mask_ratio=0 "
            "for no masking)"
        )


@dataclass
class ViewConfig:
    """How the two views of a pretraining batch are built.

    Attributes:
        preset: a key of :data:`VIEW_PRESETS`; ``paper`` is the default (docs/method.md §7 row 2).
        student_steps: overrides the preset's student chain (ablations), e.g.
            ``[deletion, mutation, mask]``; None keeps the preset's.
        teacher_steps: overrides the preset's teacher chain; None keeps the preset's.
        mnm_target: ``preset`` (the preset's choice), ``before_mask`` or ``original``.
        deletion_min, deletion_max: deleted segment length range (EvoAug 0-20).
        insertion_min, insertion_max: inserted fragment length range (0-20), cropped back to L.
        translocation_min, translocation_max: circular shift range (0-20), random sign.
        inversion_min, inversion_max: reverse-complemented segment length range (0-20).
        mutation_frac: expected fraction of mutated bases (EvoAug 0.05).
        rc_prob: probability of reverse-complementing a sequence (0.5).
        noise_mean, noise_std: Gaussian noise on one-hot rows (paper: 0 and 0.2).
        mask_ratio: per-position masking probability (paper 0.3).
        mask_p_zero, mask_p_random, mask_p_keep: 80/10/10 split of masked positions.
        mask_random_from: ``preset`` (acgt, or acgtn for ``reference``), ``acgt`` or ``acgtn``.
        n_cls: K zero CLS rows appended at the end of both views (paper 10).
        dtype: dtype of the float views (targets are always int64).
    """

    preset: PresetName = "paper"
    student_steps: tuple[Step, ...] | None = None
    teacher_steps: tuple[Step, ...] | None = None
    mnm_target: Literal["preset", "before_mask", "original"] = "preset"
    deletion_min: int = 0
    deletion_max: int = 20
    insertion_min: int = 0
    insertion_max: int = 20
    translocation_min: int = 0
    translocation_max: int = 20
    inversion_min: int = 0
    inversion_max: int = 20
    mutation_frac: float = 0.05
    rc_prob: float = 0.5
    noise_mean: float = 0.0
    noise_std: float = 0.2
    mask_ratio: float = 0.3
    mask_p_zero: float = 0.8
    mask_p_random: float = 0.1
    mask_p_keep: float = 0.1
    mask_random_from: Literal["preset", "acgt", "acgtn"] = "preset"
    n_cls: int = 10
    dtype: Literal["float32", "bfloat16"] = "float32"

    def __post_init__(self) -> None:
        if self.preset not in VIEW_PRESETS:
            raise ValueError(
                f"view preset {self.preset!r} is unknown; choose one of {', '.join(VIEW_PRESETS)}"
            )
        for name in ("deletion", "insertion", "translocation", "inversion"):
            low, high = getattr(self, f"{name}_min"), getattr(self, f"{name}_max")
            if low < 0 or high < low:
                raise ValueError(
                    f"{name}_min/{name}_max must satisfy 0 <= min <= max, got {low} and {high}"
                )
        if not 0.0 <= self.mutation_frac <= 0.75:
            raise ValueError(f"mutation_frac must be in [0, 0.75], got {self.mutation_frac}")
        if not 0.0 <= self.rc_prob <= 1.0:
            raise ValueError(f"rc_prob must be in [0, 1], got {self.rc_prob}")
        if self.noise_std < 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std}")
        if self.n_cls < 0:
            raise ValueError(f"n_cls must be >= 0, got {self.n_cls}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        recipe = self.recipe()  # also validates the step chains
        check_mask_params(
            self.mask_ratio,
            self.mask_p_zero,
            self.mask_p_random,
            self.mask_p_keep,
            recipe.random_from,
        )

    def recipe(self) -> ViewRecipe:
        """The preset's recipe with this config's overrides applied (validated)."""
        base = VIEW_PRESETS[self.preset]
        student = tuple(self.student_steps) if self.student_steps is not None else base.student
        teacher = tuple(self.teacher_steps) if self.teacher_steps is not None else base.teacher
        _check_chain(student, "student")
        _check_chain(teacher, "teacher")
        target = base.target if self.mnm_target == "preset" else self.mnm_target
        moved = [s for s in student[student.index("mask") + 1 :] if s in _MOVING_STEPS]
        if moved and target == "before_mask":
            raise ValueError(
                f"student steps {list(student)}: {moved} after 'mask' move positions, so the MNM "
                "targets (the view before masking) would no longer line up with the student "
                "rows; put them before 'mask', or set mnm_target=original to keep the reference "
                "code's misalignment on purpose"
            )
        rand = base.random_from if self.mask_random_from == "preset" else self.mask_random_from
        return ViewRecipe(student=student, teacher=teacher, target=target, random_from=rand)


__all__ = ["DTYPES", "RANDOM_FROM", "VIEW_PRESETS", "ViewConfig", "ViewRecipe", "check_mask_params"]
