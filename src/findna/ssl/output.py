"""``SSLOutput``: the losses and diagnostics one step of the objective reports.

``SelfDistillation.forward`` (``findna.ssl.student_teacher``) returns it; the trainer backpropagates
``loss`` and logs ``metrics()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class SSLOutput:
    """Losses and diagnostics of one step. All except ``loss`` are detached 0-dim tensors.

    Attributes:
        loss: total ``loss_scale * (alpha * loss_mnm + w * ((1 - alpha) * loss_cl +
            ibot_weight * loss_ibot) + koleo_weight * loss_koleo)`` (w the step's
            ``cl_weight``; cm-mnm: ``loss_scale * loss_mnm``); the only differentiable field.
        loss_mnm: masked nucleotide modelling loss.
        mnm_acc: arg-max accuracy at masked positions.
        loss_cl: self-distillation loss; None for cm-mnm.
        teacher_entropy: mean entropy (nats) of the centred, sharpened teacher distributions;
            near 0 means the teacher is collapsing onto one feature, near log D onto uniform
            (over the K tokens with ``ssl.cl_softmax=tokens``: at most log K).
            None for cm-mnm.
        center_norm: norm of the centre used for this step's loss; None for cm-mnm.
        cl_weight: the step's weight of the distillation terms, reported only with a CL
            warm-up (``ssl.cl_delay_frac`` / ``ssl.cl_warmup_frac``).
        loss_koleo: KoLeo spread term on the student's CLS hidden states (``ssl.koleo_weight``
            > 0, else None); lower = more spread.
        loss_ibot: masked-token distillation loss (``ssl.ibot_weight`` > 0, else None).
        ibot_entropy: mean entropy (nats) of its teacher targets at the masked positions, the
            same collapse diagnostic as ``teacher_entropy`` (0 sharp, log D uniform).
        diagnostics: the conflict diagnostics of a sampled step (``forward(diagnose=True)``,
            ``findna.ssl.diagnostics``), name -> detached tensor; None on other steps. Logged
            with a ``diag/`` prefix; not part of ``metrics()``.
    """

    loss: Tensor
    loss_mnm: Tensor
    mnm_acc: Tensor
    loss_cl: Tensor | None = None
    teacher_entropy: Tensor | None = None
    center_norm: Tensor | None = None
    cl_weight: Tensor | None = None
    loss_koleo: Tensor | None = None
    loss_ibot: Tensor | None = None
    ibot_entropy: Tensor | None = None
    diagnostics: dict[str, Tensor] | None = None

    def metrics(self) -> dict[str, Tensor]:
        """The applicable fields as name -> detached tensor, for logging."""
        names = (
            "loss",
            "loss_mnm",
            "mnm_acc",
            "loss_cl",
            "teacher_entropy",
            "center_norm",
            "cl_weight",
            "loss_koleo",
            "loss_ibot",
            "ibot_entropy",
        )
        values = {name: getattr(self, name) for name in names}
        return {k: v.detach() for k, v in values.items() if v is not None}
