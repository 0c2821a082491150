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

Presets are plain data in :data:`findna.ssl.view_config.VIEW_PRESETS` (docs/method.md §3.1,
3.3, Table 4 and §7 rows 2, 5, 6, 9, 27):

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

import torch

from findna.data import augment
from findna.data.alphabet import NUM_CHANNELS, one_hot
from findna.ssl.masking import mask_tokens
from findna.ssl.view_config import ViewConfig

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


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
