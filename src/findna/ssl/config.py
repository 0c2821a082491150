"""Settings of the self-distillation objective (docs/method.md §2.3-2.7 and 7).

The defaults follow the paper. The released reference code differs in three places that matter
for the objective; ``SSLConfig.reference()`` returns those values so both can be compared:

- centre momentum beta = 0.9 instead of the paper's 0.996 (docs/method.md §7 row 12);
- the MNM loss is a per-channel BCE on the student logits divided by the student temperature, on
  entries selected by a wrongly reshaped mask (docs/method.md §2.5 and §7 row 4);
- the total is lambda1*L_CL + lambda2*L_MNM with lambda1 = lambda2 = 1, i.e. alpha = 0.5 with the
  total scaled by 2 (§7 row 15; it matters because gradients are clipped at 0.5).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

Variant = Literal["findna", "cm-mnm"]
ClHead = Literal["shared", "mlp", "latent"]
ClSoftmax = Literal["features", "tokens"]
MnmLoss = Literal["ce", "reference_bce"]
Centering = Literal["ema", "batch", "sinkhorn"]


@dataclass
class SSLConfig:
    """Self-distillation objective.

    Attributes:
        variant: ``"findna"`` = MNM + self-distillation with an EMA teacher; ``"cm-mnm"`` = the
            paper's ablation, masked nucleotide modelling only (no teacher, no CL loss).
        n_cls: K, the number of all-zero CLS tokens appended at the end of each view
            (docs/method.md §2.3). The CL loss matches student CLS token k with teacher CLS token k.
        alpha: total = alpha * L_MNM + (1 - alpha) * L_CL (paper eq. 1, alpha = 0.5).
            Ignored by ``cm-mnm`` (its total is L_MNM).
        loss_scale: multiplies the total loss. 1.0 for the paper; 2.0 reproduces the reference
            code's lambda1 = lambda2 = 1.
        student_temp: tau_s, temperature of the student CLS softmax (0.1).
        teacher_temp: tau_t, temperature of the centred teacher softmax (0.04). Must be smaller
            than ``student_temp`` in practice so that the teacher target is sharper.
        teacher_temp_warmup_start: optional DINO-style warm-up (an ablation, off by default):
            tau_t rises linearly from this value at epoch 0 to ``teacher_temp`` at epoch
            ``teacher_temp_warmup_epochs``. The reference config's 0.04 -> 0.04 is a no-op.
        teacher_temp_warmup_epochs: length of that warm-up in epochs (0 = no warm-up).
        teacher_temp_warmup_frac: the same warm-up counted in optimiser steps, as a fraction of
            the run (0 = off; e.g. 0.3 for the first 30% of the steps). Useful for short runs
            (the 1-epoch ``tiny`` preset); use either this or ``teacher_temp_warmup_epochs``.
        center_momentum: beta of the centre EMA xi <- beta*xi + (1-beta)*mean_b Q. Paper 0.996;
            the reference code's effective value is 0.9.
        ema_start: teacher EMA momentum at step 0 of the cosine schedule (0.996).
        ema_end: teacher EMA momentum at the last step (1.0).
        cl_head: which outputs the CL loss compares. ``"shared"`` (default, as the reference
            code): the network's 5-dim token head applied to the CLS tokens, softmax over those 5
            features. ``"latent"``: the paper's eq. 8 reading, softmax directly over the d-dim
            CLS hidden states. ``"mlp"``: a DINO-style projection head on the CLS hidden states.
        mlp_hidden_dim: hidden width of the ``mlp`` projection head.
        mlp_bottleneck_dim: bottleneck width of the ``mlp`` projection head.
        mlp_out_dim: output ("prototype") dimension of the ``mlp`` projection head.
        cl_softmax: the axis of the CL softmaxes. ``"features"`` (default, as the reference code):
            per CLS token a distribution over the D features. ``"tokens"``: the paper's literal
            eqs. 4-5, per feature a distribution over the K CLS tokens (docs/method.md §2.6).
        cl_delay_frac: CL warm-up, part 1: the distillation terms (CL and iBOT) have weight 0
            for this fraction of the run, so the student learns by MNM alone first (0 = off).
        cl_warmup_frac: CL warm-up, part 2: then their weight rises linearly from 0 to 1 over
            this fraction of the run (0 = no ramp). The weight comes from
            ``findna.ssl.schedules.step_schedule`` and is logged as ``cl_weight``.
        koleo_weight: weight of a KoLeo spread term (DINOv2) on the student's CLS hidden states,
            per CLS token across the batch (0 = off).
        ibot_weight: weight of iBOT-style masked-token distillation: the teacher's token outputs
            on the un-masked student sequence are soft targets for the student at the masked
            positions, with a centre of their own (0 = off; an extra teacher forward when on).
            The token features come from the same head as the CL term (``cl_head``).
        symmetric: DINO's symmetric loss: the student also sees v (for the CL term only) and is
            matched with the teacher on u before masking; the CL loss is the mean of the two
            directions (False = the paper's one direction; when on, one more forward of each
            network per step).
        mnm_loss: ``"ce"`` (paper): softmax cross-entropy over the 5 classes at masked positions.
            ``"reference_bce"``: the released code's BCE-with-logits on logits / student_temp at
            scrambled (position, channel) entries (docs/method.md §2.5); kept only to reproduce it.
        ema_horizon_frac: the teacher horizon fitted to the run (issue 21; 0 = off, the paper's
            ``ema_start``): the EMA momentum starts at ``1 - 1 / (ema_horizon_frac * T)`` (an
            averaging window of that fraction of the T steps) and rises to ``ema_end`` on the
            same cosine, so runs of any length get comparable teachers.
        cl_grad_ratio: gradient balance (0 = off): the CL term's weight is rescaled so that the
            norm of its gradient on the student is this fraction of the MNM gradient's, from the
            norms measured on the last diagnostic step (``run.diagnostics_every``).
        cl_stop_input_grad: the CL (and iBOT, KoLeo) gradients stop at the input layer: the
            student's ``embed`` is trained by MNM alone (one more backward per step).
        centering: how the teacher's CL outputs are centred: ``"ema"`` (the paper: the EMA centre
            of ``center_momentum``), ``"batch"`` (this batch's mean) or ``"sinkhorn"``
            (Sinkhorn-Knopp normalisation, 3 iterations, as DINOv2; needs ``cl_softmax=features``).
        ema_copy: ``cm-mnm`` only: keep an EMA copy of the network (no teacher forward, no CL
            head) with the momentum schedule above; it is exported as the run's model.

    The levers from ``cl_softmax`` to ``symmetric`` (issue 9, docs/method.md §2.6) are off by
    default, which is the paper's objective exactly; like ``alpha`` and ``cl_head`` they are
    ignored by ``cm-mnm``. The total is ``loss_scale * (alpha * L_MNM + w * ((1 - alpha) * L_CL +
    ibot_weight * L_iBOT) + koleo_weight * L_KoLeo)``, w the step's ``cl_weight`` (1 without a
    CL warm-up).
    """

    variant: Variant = "findna"
    n_cls: int = 10
    alpha: float = 0.5
    loss_scale: float = 1.0
    student_temp: float = 0.1
    teacher_temp: float = 0.04
    teacher_temp_warmup_start: float | None = None
    teacher_temp_warmup_epochs: int = 0
    center_momentum: float = 0.996
    ema_start: float = 0.996
    ema_end: float = 1.0
    cl_head: ClHead = "shared"
    mlp_hidden_dim: int = 512
    mlp_bottleneck_dim: int = 128
    mlp_out_dim: int = 256
    mnm_loss: MnmLoss = "ce"
    cl_softmax: ClSoftmax = "features"
    teacher_temp_warmup_frac: float = 0.0
    cl_delay_frac: float = 0.0
    cl_warmup_frac: float = 0.0
    koleo_weight: float = 0.0
    ibot_weight: float = 0.0
    symmetric: bool = False
    ema_horizon_frac: float = 0.0
    cl_grad_ratio: float = 0.0
    cl_stop_input_grad: bool = False
    centering: Centering = "ema"
    ema_copy: bool = False

    def __post_init__(self) -> None:
        if self.variant not in ("findna", "cm-mnm"):
            raise ValueError(f"variant={self.variant!r}: use 'findna' or 'cm-mnm'")
        if self.n_cls < 0:
            raise ValueError(f"n_cls={self.n_cls} is negative; use 10 (the paper) or 0 for cm-mnm")
        if self.uses_teacher and self.n_cls == 0:
            raise ValueError(
                "n_cls=0 leaves the contrastive loss with no CLS tokens to compare; "
                "set n_cls >= 1 (paper: 10) or variant='cm-mnm' for MNM-only training"
            )
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha={self.alpha} must lie in [0, 1] (paper: 0.5)")
        if self.loss_scale <= 0:
            raise ValueError(f"loss_scale={self.loss_scale} must be positive (paper: 1.0)")
        for name in ("student_temp", "teacher_temp"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name}={getattr(self, name)} must be positive (0.1 / 0.04)")
        if self.teacher_temp_warmup_start is not None and self.teacher_temp_warmup_start <= 0:
            raise ValueError(
                f"teacher_temp_warmup_start={self.teacher_temp_warmup_start} must be positive, "
                "or null to switch the warm-up off"
            )
        if self.teacher_temp_warmup_epochs < 0:
            raise ValueError(
                f"teacher_temp_warmup_epochs={self.teacher_temp_warmup_epochs} is negative; use 0"
            )
        if self.teacher_temp_warmup_epochs > 0 and self.teacher_temp_warmup_start is None:
            raise ValueError(
                f"teacher_temp_warmup_epochs={self.teacher_temp_warmup_epochs} needs "
                "teacher_temp_warmup_start (e.g. 0.04); or set the epochs to 0"
            )
        if not 0.0 <= self.center_momentum <= 1.0:
            raise ValueError(
                f"center_momentum={self.center_momentum} must lie in [0, 1] (paper 0.996, code 0.9)"
            )
        if not 0.0 <= self.ema_start <= self.ema_end <= 1.0:
            raise ValueError(
                f"need 0 <= ema_start <= ema_end <= 1, got ema_start={self.ema_start}, "
                f"ema_end={self.ema_end} (paper: 0.996 -> 1.0)"
            )
        if self.cl_head not in ("shared", "mlp", "latent"):
            raise ValueError(f"cl_head={self.cl_head!r}: use 'shared', 'latent' or 'mlp'")
        for name in ("mlp_hidden_dim", "mlp_bottleneck_dim", "mlp_out_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be at least 1")
        if self.mnm_loss not in ("ce", "reference_bce"):
            raise ValueError(f"mnm_loss={self.mnm_loss!r}: use 'ce' or 'reference_bce'")
        self._check_levers()
        self._check_conflict_levers()

    def _check_levers(self) -> None:
        """Validate the off-by-default levers of issue 9 (docs/method.md §2.6)."""
        if self.cl_softmax not in ("features", "tokens"):
            raise ValueError(
                f"cl_softmax={self.cl_softmax!r}: use 'features' (per CLS token over the D "
                "features, the reference code) or 'tokens' (per feature over the K CLS tokens, "
                "the paper's eqs. 4-5)"
            )
        if self.cl_softmax == "tokens" and self.uses_teacher and self.n_cls < 2:
            raise ValueError(
                f"cl_softmax='tokens' with n_cls={self.n_cls}: a softmax over one CLS token is "
                "always 1 and the CL loss is 0; use n_cls >= 2 (paper: 10)"
            )
        frac = self.teacher_temp_warmup_frac
        if not 0.0 <= frac <= 1.0:
            raise ValueError(
                f"teacher_temp_warmup_frac={frac} must lie in [0, 1] (a fraction of the run's "
                "steps; 0 = no warm-up)"
            )
        if frac > 0 and self.teacher_temp_warmup_start is None:
            raise ValueError(
                f"teacher_temp_warmup_frac={frac} needs teacher_temp_warmup_start (e.g. 0.02); "
                "or set the fraction to 0"
            )
        if frac > 0 and self.teacher_temp_warmup_epochs > 0:
            raise ValueError(
                f"teacher_temp_warmup_frac={frac} and teacher_temp_warmup_epochs="
                f"{self.teacher_temp_warmup_epochs} both set the warm-up length; set one to 0"
            )
        for name in ("cl_delay_frac", "cl_warmup_frac"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(
                    f"{name}={getattr(self, name)} must lie in [0, 1] (a fraction of the run's "
                    "steps; 0 = off)"
                )
        if self.cl_delay_frac + self.cl_warmup_frac > 1.0:
            raise ValueError(
                f"cl_delay_frac + cl_warmup_frac = {self.cl_delay_frac + self.cl_warmup_frac} "
                "exceeds 1: the CL term would never reach its full weight within the run"
            )

        for name in ("koleo_weight", "ibot_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)} must be >= 0 (0 = off)")

    def _check_conflict_levers(self) -> None:
        """Validate the levers of issue 21 and refuse combinations that mean nothing."""
        if self.centering not in ("ema", "batch", "sinkhorn"):
            raise ValueError(
                f"ssl.centering={self.centering!r}: use 'ema' (the paper), 'batch' or 'sinkhorn'"
            )
        if not 0.0 <= self.ema_horizon_frac <= 1.0:
            raise ValueError(
                f"ssl.ema_horizon_frac={self.ema_horizon_frac} must lie in [0, 1] (the teacher's "
                "averaging window as a fraction of the run's steps; 0 = off)"
            )
        if self.cl_grad_ratio < 0:
            raise ValueError(f"ssl.cl_grad_ratio={self.cl_grad_ratio} must be >= 0 (0 = off)")
        default = SSLConfig.__dataclass_fields__
        if self.ema_horizon_frac > 0 and self.ema_start != default["ema_start"].default:
            raise ValueError(
                f"ssl.ema_horizon_frac={self.ema_horizon_frac} and ssl.ema_start={self.ema_start} "
                "both set the teacher's starting momentum; keep one (ema_start at 0.996)"
            )
        if self.centering != "ema" and self.center_momentum != default["center_momentum"].default:
            raise ValueError(
                f"ssl.centering={self.centering!r} does not use the EMA centre, but "
                f"ssl.center_momentum={self.center_momentum} sets it; drop one of the two keys"
            )
        if self.centering == "sinkhorn" and self.cl_softmax != "features":
            raise ValueError(
                "ssl.centering='sinkhorn' normalises over the features and the batch; it needs "
                f"ssl.cl_softmax='features', got {self.cl_softmax!r}"
            )
        if self.cl_grad_ratio > 0 and self.cl_stop_input_grad:
            raise ValueError(
                "ssl.cl_grad_ratio and ssl.cl_stop_input_grad both balance the CL gradient; "
                "set one of them"
            )
        if self.uses_teacher and self.ema_copy:
            raise ValueError(
                "ssl.ema_copy=true is for ssl.variant=cm-mnm: the findna variant already keeps "
                "an EMA teacher; drop ssl.ema_copy"
            )
        if not self.uses_teacher:
            cl_only = {
                "cl_head": "shared",
                "cl_softmax": "features",
                "cl_grad_ratio": 0.0,
                "cl_stop_input_grad": False,
                "centering": "ema",
                "ibot_weight": 0.0,
                "koleo_weight": 0.0,
                "symmetric": False,
            }
            bad = [
                f"ssl.{k}={getattr(self, k)!r}" for k, v in cl_only.items() if getattr(self, k) != v
            ]
            if bad:
                raise ValueError(
                    f"ssl.variant=cm-mnm has no CL term, but {', '.join(bad)} configure one; "
                    "drop these keys or use ssl.variant=findna"
                )
            if self.ema_horizon_frac > 0 and not self.ema_copy:
                raise ValueError(
                    f"ssl.ema_horizon_frac={self.ema_horizon_frac} with ssl.variant=cm-mnm sets "
                    "the momentum of an EMA network that is not kept; add ssl.ema_copy=true"
                )

    @property
    def has_ema_network(self) -> bool:
        """True when the run keeps an EMA copy of the student: findna's teacher or cm-mnm's
        ``ema_copy``; that copy is the run's exported model."""
        return self.uses_teacher or self.ema_copy

    @property
    def has_cl_warmup(self) -> bool:
        """True when the distillation terms are delayed or ramped in (``cl_weight`` < 1 early)."""
        return self.cl_delay_frac > 0 or self.cl_warmup_frac > 0

    @property
    def uses_teacher(self) -> bool:
        """True when the objective has an EMA teacher and a CL term (variant ``findna``)."""
        return self.variant == "findna"

    @classmethod
    def reference(cls, **changes: object) -> SSLConfig:
        """The released reference code's objective (``reference`` preset), with ``changes``."""
        base = cls(center_momentum=0.9, mnm_loss="reference_bce", loss_scale=2.0)
        return dataclasses.replace(base, **changes)
