"""The student and teacher views of one batch, and the view dissimilarity of Table 4.

A view is a chain of steps applied to the (B, L) codes of a batch of pretraining windows, then
one-hot encoded with K zero CLS rows appended at the END (docs/method.md §2.3). Step names:

    deletion, insertion, translocation, inversion, mutation   code edits (findna.data.augment)
    mask                                                        MNM masking (findna.ssl.masking)
    noise                                                       Gaussian noise on one-hot rows
    rc                                                          reverse complement with prob rc_prob

Steps before ``noise`` act on codes; ``noise`` switches to float one-hot rows, after which only
``rc`` (which handles both) may follow. The student chain contains ``mask`` exactly once; the MNM
target is either the student sequence just before masking (``before_mask``, the paper) or the
original, un-augmented batch (``original``, the released code).

Presets are plain data in :data:`VIEW_PRESETS` (docs/method.md §3.1, 3.3, Table 4 and §7
rows 2, 5, 6, 9, 27):

    paper     u = D -> I -> T -> [target] -> M           v = N -> R
    reference u = M(80/10/10 over ACGTN) -> N -> R,      v = T          target = original
              (the released code's effective views; its misaligned RC targets are kept on purpose)
    m_noaug   u = M                                      v = (none)
    m_dit     u = M                                      v = D -> I -> T
    mdt_dit   u = D -> T -> M (the label's letters)      v = D -> I -> T
    mdt_nr    same as paper: the text says MDIT+NR, the table MDT+NR (docs/method.md §7 row 27)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch

from findna.data import augment
from findna.data.alphabet import NUM_CHANNELS, one_hot
from findna.ssl.masking import check_mask_params, mask_tokens

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
_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


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
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(_DTYPES)}, got {self.dtype!r}")
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


@dataclass(frozen=True)
class ViewBatch:
    """The two views of a batch and the MNM targets.

    Attributes:
        student: (B, L+K, 5) float, student view u; rows L..L+K-1 are the zero CLS rows.
        teacher: (B, L+K, 5) float, teacher view v, same layout.
        targets: (B, L) int64 MNM targets (class indices 0..4): the student view before masking
            (aligned with the student rows), or the original sequence for
            ``mnm_target="original"`` (the ``reference`` preset, misaligned where it applied RC).
        mask: (B, L) bool, the positions the MNM loss is computed on.
        n_cls: K, the number of CLS rows at the end of each view.
    """

    student: torch.Tensor
    teacher: torch.Tensor
    targets: torch.Tensor
    mask: torch.Tensor
    n_cls: int

    @classmethod
    def cat(cls, parts: list[ViewBatch]) -> ViewBatch:
        """The views of several batches stacked along the batch axis (in order)."""
        if len(parts) == 1:
            return parts[0]
        if not parts or len({p.n_cls for p in parts}) != 1:
            raise ValueError("ViewBatch.cat needs at least one part, all with the same n_cls")
        return cls(
            student=torch.cat([p.student for p in parts]),
            teacher=torch.cat([p.teacher for p in parts]),
            targets=torch.cat([p.targets for p in parts]),
            mask=torch.cat([p.mask for p in parts]),
            n_cls=parts[0].n_cls,
        )


_Op = Callable[[torch.Tensor, ViewConfig, torch.Generator], torch.Tensor]
_OPS: dict[str, _Op] = {
    "deletion": lambda x, c, g: augment.deletion(x, c.deletion_min, c.deletion_max, generator=g),
    "insertion": lambda x, c, g: augment.insertion(
        x, c.insertion_min, c.insertion_max, generator=g
    ),
    "translocation": lambda x, c, g: augment.translocation(
        x, c.translocation_min, c.translocation_max, generator=g
    ),
    "inversion": lambda x, c, g: augment.inversion(
        x, c.inversion_min, c.inversion_max, generator=g
    ),
    "mutation": lambda x, c, g: augment.mutation(x, c.mutation_frac, generator=g),
    "noise": lambda x, c, g: augment.gaussian_noise(
        x if x.dtype.is_floating_point else one_hot(x), c.noise_std, c.noise_mean, generator=g
    ),
    "rc": lambda x, c, g: augment.reverse_complement(x, c.rc_prob, generator=g),
}


def _finish(x: torch.Tensor, n_cls: int, dtype: torch.dtype) -> torch.Tensor:
    """Codes or float rows (B, L[, 5]) -> (B, L+K, 5) float with K zero CLS rows at the end."""
    rows = x if x.dtype.is_floating_point else one_hot(x, dtype=dtype)
    cls = rows.new_zeros((rows.shape[0], n_cls, NUM_CHANNELS), dtype=dtype)
    return torch.cat([rows.to(dtype), cls], dim=1)


def build_views(codes: torch.Tensor, cfg: ViewConfig, *, generator: torch.Generator) -> ViewBatch:
    """Build the student view u, the teacher view v and the MNM targets of one batch.

    The student chain runs first, then the teacher chain, both from the same input codes and
    the same generator, so a seed fixes both views.

    Args:
        codes: (B, L) integer codes of unpadded windows (A=0 C=1 G=2 T=3 N=4).
        cfg: the view recipe and its parameters.
        generator: on ``codes.device``.

    Returns:
        :class:`ViewBatch` with (B, L+K, 5) views of ``cfg.dtype`` and (B, L) targets/mask.
    """
    if codes.dim() != 2 or codes.dtype.is_floating_point or codes.dtype == torch.bool:
        raise ValueError(
            f"build_views: expected integer codes of shape (B, L), got {codes.dtype} "
            f"{tuple(codes.shape)}"
        )
    recipe = cfg.recipe()
    dtype = _DTYPES[cfg.dtype]
    codes = codes.long()

    x = codes
    targets = mask = None
    for step in recipe.student:
        if step == "mask":
            masked = mask_tokens(
                x,
                cfg.mask_ratio,
                cfg.mask_p_zero,
                cfg.mask_p_random,
                cfg.mask_p_keep,
                random_from=recipe.random_from,
                generator=generator,
            )
            targets = masked.targets if recipe.target == "before_mask" else codes
            mask, x = masked.mask, masked.inputs
        else:
            x = _OPS[step](x, cfg, generator)
    student = _finish(x, cfg.n_cls, dtype)

    y = codes
    for step in recipe.teacher:
        y = _OPS[step](y, cfg, generator)
    teacher = _finish(y, cfg.n_cls, dtype)
    assert targets is not None and mask is not None  # the student chain has one 'mask' step
    return ViewBatch(student=student, teacher=teacher, targets=targets, mask=mask, n_cls=cfg.n_cls)


def seeded_views(codes: torch.Tensor, cfg: ViewConfig, seeds: list[int]) -> ViewBatch:
    """Views of a batch split into ``len(seeds)`` equal chunks, chunk i drawn from a generator
    seeded by ``seeds[i]``.

    A chunk's views depend only on its codes and its seed, not on the rest of the batch, so
    seeding by (step, chunk) or by window index makes views reproducible across batch layouts,
    ranks and resumes.

    Args:
        codes: (B, L) integer codes; B must be a multiple of ``len(seeds)``.
        cfg: the view recipe.
        seeds: one seed per chunk (one per window for per-window views).
    """
    if not seeds or codes.shape[0] % len(seeds):
        raise ValueError(
            f"seeded_views: a batch of {codes.shape[0]} cannot be split into {len(seeds)} "
            "equal chunks"
        )
    size = codes.shape[0] // len(seeds)
    parts = []
    for i, seed in enumerate(seeds):
        g = torch.Generator(device=codes.device).manual_seed(seed)
        parts.append(build_views(codes[i * size : (i + 1) * size], cfg, generator=g))
    return ViewBatch.cat(parts)


def view_kl(
    student_view: torch.Tensor, teacher_view: torch.Tensor, *, n_cls: int = 0
) -> torch.Tensor:
    """Per-token KL(student view || teacher view) of the input views (paper Eq. 10, docs/method.md
    §3.4).

    Each row (token) of both views is turned into a distribution by a softmax over its 5
    channels; the KL of the student row from the teacher row is averaged over all B*L sequence
    tokens (batchmean over rows, not the paper's sum: only a per-token mean is consistent with
    the reported 0.025-0.175, docs/method.md §7 row 28). The last ``n_cls`` rows (CLS) are
    **excluded**; the reference code included them (they are zero in both views and add 0,
    diluting the mean by L/(L+K)).

    Args:
        student_view: (B, L+n_cls, 5) float.
        teacher_view: (B, L+n_cls, 5) float.
        n_cls: CLS rows at the end of each view to drop (``ViewBatch.n_cls``).

    Returns:
        Scalar float32 tensor, >= 0.
    """
    if student_view.shape != teacher_view.shape or student_view.dim() != 3:
        raise ValueError(
            f"view_kl: views must have the same (B, L, 5) shape, got "
            f"{tuple(student_view.shape)} and {tuple(teacher_view.shape)}"
        )
    seq_len = student_view.shape[1] - n_cls
    if n_cls < 0 or seq_len <= 0:
        raise ValueError(f"view_kl: n_cls={n_cls} leaves no sequence rows of {student_view.shape}")
    log_u = torch.log_softmax(student_view[:, :seq_len].float(), dim=-1)
    log_v = torch.log_softmax(teacher_view[:, :seq_len].float(), dim=-1)
    per_token = (log_u.exp() * (log_u - log_v)).sum(dim=-1)  # (B, L)
    return per_token.mean()
