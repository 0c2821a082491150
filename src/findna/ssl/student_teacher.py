"""``SelfDistillation``: the FinDNA student/teacher pair and its pretraining objective.

One object holds the student network, its EMA teacher (an exact copy that never receives
gradients and always runs in eval mode) and the centred distillation loss with its centre
buffer. ``forward(views, teacher_temp, cl_weight)`` returns the losses of one step; the trainer
then does backward -> clip -> ``optimizer.step()`` -> ``update_teacher(m)`` (EMA *after* the
optimiser step, docs/method.md §7 row 31). The step's ``teacher_temp``, ``cl_weight`` and ``m``
come from ``findna.ssl.schedules.step_schedule``; this object holds no schedule state.

For ``variant="cm-mnm"`` (the paper's MNM-only ablation) there is no teacher and no CL loss.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork, NetworkOutput
from findna.ssl.config import SSLConfig
from findna.ssl.distill import CenteredDistillationLoss
from findna.ssl.ibot import MaskedTokenDistillationLoss, unmasked_student_view
from findna.ssl.koleo import koleo_loss
from findna.ssl.mnm import mnm_loss, reference_bce_mnm_loss

if TYPE_CHECKING:
    from findna.ssl.views import ViewBatch


@torch.no_grad()
def ema_update_(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """In place: ``teacher <- momentum * teacher + (1 - momentum) * student``.

    Covers parameters and floating-point buffers, matched by name; integer buffers (counters) are
    copied. ``momentum=1`` leaves the teacher unchanged, ``momentum=0`` copies the student.

    Raises:
        ValueError: when the two modules do not have the same entries and shapes.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"EMA momentum {momentum} must lie in [0, 1]")
    t_state = dict(teacher.named_parameters()) | dict(teacher.named_buffers())
    s_state = dict(student.named_parameters()) | dict(student.named_buffers())
    if t_state.keys() != s_state.keys():
        diff = sorted(t_state.keys() ^ s_state.keys())
        raise ValueError(f"teacher and student differ in entries {diff[:5]}: not an exact copy")
    t_float: list[Tensor] = []
    s_float: list[Tensor] = []
    for name, t in t_state.items():
        s = s_state[name]
        if t.shape != s.shape:
            raise ValueError(f"{name}: teacher shape {tuple(t.shape)} != student {tuple(s.shape)}")
        if t.is_floating_point():
            t_float.append(t)
            s_float.append(s.detach().to(t.dtype))
        else:
            t.copy_(s)
    if t_float:
        torch._foreach_mul_(t_float, momentum)
        torch._foreach_add_(t_float, s_float, alpha=1.0 - momentum)


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


def _mean(values: list[Tensor]) -> Tensor:
    """The one value itself, else the mean (so a single term stays bit-identical)."""
    return values[0] if len(values) == 1 else torch.stack(values).mean()


def _projection_head(model_cfg: ModelConfig, ssl_cfg: SSLConfig) -> nn.Module:
    from findna.model.heads import ProjectionHead

    return ProjectionHead(
        d=model_cfg.width,
        out_dim=ssl_cfg.mlp_out_dim,
        hidden=ssl_cfg.mlp_hidden_dim,
        bottleneck=ssl_cfg.mlp_bottleneck_dim,
    )


def _frozen_copy(module: nn.Module) -> nn.Module:
    copied = copy.deepcopy(module)
    copied.requires_grad_(False)
    return copied.eval()


class SelfDistillation(nn.Module):
    """FinDNA student, EMA teacher and objective.

    Args:
        model_cfg: architecture of both networks (identical by construction).
        ssl_cfg: the objective. ``ssl_cfg.n_cls`` must equal the CLS rows the views carry.

    Attributes:
        student: the trained ``FinDNANetwork``.
        teacher: its EMA copy (None for cm-mnm); the network used downstream.
        student_head / teacher_head: ``ProjectionHead`` pair for ``cl_head="mlp"``, else None.
        distill: the ``CenteredDistillationLoss`` holding the centre (None for cm-mnm).
        ibot: the ``MaskedTokenDistillationLoss`` with its own centre (``ssl.ibot_weight`` > 0).
    """

    def __init__(self, model_cfg: ModelConfig, ssl_cfg: SSLConfig) -> None:
        super().__init__()
        self.model_cfg = model_cfg
        self.ssl_cfg = ssl_cfg
        self.student = FinDNANetwork(model_cfg)
        self.student_head = (
            _projection_head(model_cfg, ssl_cfg) if ssl_cfg.cl_head == "mlp" else None
        )
        self.teacher: nn.Module | None = None
        self.teacher_head: nn.Module | None = None
        self.distill: CenteredDistillationLoss | None = None
        self.ibot: MaskedTokenDistillationLoss | None = None
        if ssl_cfg.uses_teacher:
            self.teacher = _frozen_copy(self.student)
            if self.student_head is not None:
                self.teacher_head = _frozen_copy(self.student_head)
            self.distill = CenteredDistillationLoss(
                n_cls=ssl_cfg.n_cls,
                dim=self.cl_dim,
                student_temp=ssl_cfg.student_temp,
                teacher_temp=ssl_cfg.teacher_temp,
                center_momentum=ssl_cfg.center_momentum,
                softmax=ssl_cfg.cl_softmax,
            )
            if ssl_cfg.ibot_weight > 0:
                self.ibot = MaskedTokenDistillationLoss(
                    dim=self.cl_dim,
                    student_temp=ssl_cfg.student_temp,
                    teacher_temp=ssl_cfg.teacher_temp,
                    center_momentum=ssl_cfg.center_momentum,
                )

    @property
    def cl_dim(self) -> int:
        """D, the feature dimension of the CL softmax for the configured ``cl_head``."""
        head = self.ssl_cfg.cl_head
        if head == "shared":
            return self.model_cfg.out_channels
        if head == "latent":
            return self.model_cfg.width
        return self.ssl_cfg.mlp_out_dim

    def train(self, mode: bool = True) -> SelfDistillation:
        """Set the student's mode; the teacher (and its head) always stays in eval mode."""
        super().train(mode)
        for module in (self.teacher, self.teacher_head):
            if module is not None:
                module.eval()
        return self

    def student_parameters(self) -> Iterable[nn.Parameter]:
        """The trainable parameters (student network and head); what the optimiser should get.

        Frozen student parameters (the projection head's fixed weight-norm gain) are left out.
        """
        modules = [self.student] + ([self.student_head] if self.student_head is not None else [])
        for module in modules:
            yield from (p for p in module.parameters() if p.requires_grad)

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        """EMA step of the teacher (and head) toward the student, after ``optimizer.step()``."""
        if self.teacher is None:
            return
        ema_update_(self.teacher, self.student, momentum)
        if self.teacher_head is not None and self.student_head is not None:
            ema_update_(self.teacher_head, self.student_head, momentum)

    def _features(
        self, out: NetworkOutput, seq_len: int, head: nn.Module | None, cls: bool = True
    ) -> Tensor:
        """CL features of the CLS tokens (positions ``seq_len:``), (B, K, D); with ``cls=False``
        those of the sequence tokens (positions ``:seq_len``), (B, L, D), for iBOT."""
        part = slice(seq_len, None) if cls else slice(None, seq_len)
        if self.ssl_cfg.cl_head == "shared":
            return out.logits[:, part]
        hidden = out.hidden[:, part]
        return hidden if head is None else head(hidden)

    def _check_views(self, views: ViewBatch) -> int:
        b, seq_len = views.targets.shape
        total = views.student.shape[1]
        if views.mask.shape != views.targets.shape or views.student.shape[0] != b:
            raise ValueError(
                f"views disagree: student {tuple(views.student.shape)}, targets "
                f"{tuple(views.targets.shape)}, mask {tuple(views.mask.shape)}"
            )
        if self.teacher is not None:
            if total - seq_len != self.ssl_cfg.n_cls:
                raise ValueError(
                    f"the student view has {total - seq_len} CLS rows ({total} tokens for "
                    f"{seq_len} targets) but ssl.n_cls={self.ssl_cfg.n_cls}; build the views "
                    "with the same n_cls"
                )
            if views.teacher is None or views.teacher.shape != views.student.shape:
                shape = None if views.teacher is None else tuple(views.teacher.shape)
                raise ValueError(
                    f"teacher view {shape} must match the student view {tuple(views.student.shape)}"
                )
        return seq_len

    def forward(
        self, views: ViewBatch, teacher_temp: float | None = None, cl_weight: float = 1.0
    ) -> SSLOutput:
        """Losses of one step on a batch of views (fixed length, so ``lengths=None``).

        Args:
            views: ``student`` (B, L+K, 5) masked view, ``teacher`` (B, L+K, 5) (unused by
                cm-mnm), ``targets`` (B, L) classes, ``mask`` (B, L) masked positions.
            teacher_temp: this step's tau_t (from ``findna.ssl.schedules.step_schedule``); None
                uses ``ssl_cfg.teacher_temp``.
            cl_weight: this step's weight w of the distillation terms, in [0, 1] (from
                ``step_schedule``; 1 without a CL warm-up). The total is ``alpha * L_MNM +
                w * (1 - alpha) * L_CL`` plus the optional terms (``SSLConfig``), times
                ``loss_scale``.

        Returns:
            ``SSLOutput``. In training mode the centre is updated with this batch's teacher CLS
            outputs *after* the loss was computed with the previous centre.

        With ``ssl.symmetric`` the student also runs on v and is matched with the teacher on u
        before masking (the teacher never sees the mask, as in iBOT); ``loss_cl``,
        ``teacher_entropy`` and KoLeo are the means over the two directions, and the centre is
        updated with the teacher outputs of both.
        """
        cfg = self.ssl_cfg
        if not 0.0 <= cl_weight <= 1.0:
            raise ValueError(f"cl_weight={cl_weight} must lie in [0, 1] (step_schedule's value)")
        seq_len = self._check_views(views)
        s_out = self.student(views.student)
        token_logits = s_out.logits[:, :seq_len]
        if cfg.mnm_loss == "ce":
            loss_mnm, acc = mnm_loss(token_logits, views.targets, views.mask)
        else:
            loss_mnm, acc = reference_bce_mnm_loss(
                token_logits, views.targets, views.mask, cfg.student_temp
            )
        if self.teacher is None or self.distill is None:
            return SSLOutput(
                loss=cfg.loss_scale * loss_mnm, loss_mnm=loss_mnm.detach(), mnm_acc=acc
            )

        with torch.no_grad():
            t_out = self.teacher(views.teacher)
            # For iBOT and the symmetric loss: the teacher on u before masking.
            t_full = None
            if self.ibot is not None or cfg.symmetric:
                t_full = self.teacher(unmasked_student_view(views))
            center_norm = self.distill.center_norm()
        # The CL pairs (student CLS, teacher CLS): u -> v, and v -> u when symmetric.
        pairs = [(s_out, t_out)]
        if cfg.symmetric and t_full is not None:
            pairs.append((self.student(views.teacher), t_full))
        p = [self._features(s, seq_len, self.student_head) for s, _ in pairs]
        with torch.no_grad():
            q = [self._features(t, seq_len, self.teacher_head) for _, t in pairs]
            # For the entropy diagnostic (cheap: B x K x D).
            h = [
                self.distill.target_entropy(self.distill.teacher_probs(x, teacher_temp)) for x in q
            ]
        # With the centre before this step's update; the mean of the directions.
        loss_cl = _mean([self.distill(pi, qi, teacher_temp) for pi, qi in zip(p, q, strict=True)])
        if self.training:
            self.distill.update_center(q[0] if len(q) == 1 else torch.cat(q))
        total = cfg.alpha * loss_mnm + (1.0 - cfg.alpha) * cl_weight * loss_cl
        loss_ibot = ibot_entropy = None
        if self.ibot is not None and t_full is not None:
            p_tok = self._features(s_out, seq_len, self.student_head, cls=False)
            with torch.no_grad():
                q_tok = self._features(t_full, seq_len, self.teacher_head, cls=False)
            loss_ibot, ibot_entropy = self.ibot(p_tok, q_tok, views.mask, teacher_temp)
            if self.training:
                self.ibot.update_center(q_tok)
            total = total + cl_weight * cfg.ibot_weight * loss_ibot
        loss_koleo = None
        if cfg.koleo_weight > 0:
            # Per CLS token k, the spread of the batch's B student CLS hidden states (K, B, d),
            # averaged over the student's views.
            loss_koleo = _mean(
                [koleo_loss(s.hidden[:, seq_len:].transpose(0, 1)) for s, _ in pairs]
            )
            total = total + cfg.koleo_weight * loss_koleo
        return SSLOutput(
            loss=cfg.loss_scale * total,
            loss_mnm=loss_mnm.detach(),
            mnm_acc=acc,
            loss_cl=loss_cl.detach(),
            teacher_entropy=_mean(h),
            center_norm=center_norm,
            cl_weight=loss_mnm.new_tensor(cl_weight) if cfg.has_cl_warmup else None,
            loss_koleo=None if loss_koleo is None else loss_koleo.detach(),
            loss_ibot=None if loss_ibot is None else loss_ibot.detach(),
            ibot_entropy=ibot_entropy,
        )
