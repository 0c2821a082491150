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
from findna.ssl.output import SSLOutput

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

        Reads top-down as the step does: the student on u, the MNM term, the teacher (no grad),
        then the CL, iBOT and KoLeo terms, each from a helper of its own, summed into the total.

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
            ``SSLOutput``. In training mode the centres are updated with this batch's teacher
            outputs *after* the losses were computed with the previous centres.

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
        loss_mnm, acc = self._mnm_term(s_out.logits[:, :seq_len], views)
        if self.teacher is None or self.distill is None:
            return SSLOutput(
                loss=cfg.loss_scale * loss_mnm, loss_mnm=loss_mnm.detach(), mnm_acc=acc
            )

        t_out, t_full = self._teacher_outputs(views)
        center_norm = self.distill.center_norm()  # the centre this step's loss uses
        pairs = self._cl_pairs(views, s_out, t_out, t_full)
        loss_cl, teacher_entropy = self._cl_term(pairs, seq_len, teacher_temp)
        total = cfg.alpha * loss_mnm + (1.0 - cfg.alpha) * cl_weight * loss_cl
        loss_ibot = ibot_entropy = None
        if self.ibot is not None and t_full is not None:
            loss_ibot, ibot_entropy = self._ibot_term(s_out, t_full, views.mask, teacher_temp)
            total = total + cl_weight * cfg.ibot_weight * loss_ibot
        loss_koleo = None
        if cfg.koleo_weight > 0:
            loss_koleo = self._koleo_term(pairs, seq_len)
            total = total + cfg.koleo_weight * loss_koleo
        return SSLOutput(
            loss=cfg.loss_scale * total,
            loss_mnm=loss_mnm.detach(),
            mnm_acc=acc,
            loss_cl=loss_cl.detach(),
            teacher_entropy=teacher_entropy,
            center_norm=center_norm,
            cl_weight=loss_mnm.new_tensor(cl_weight) if cfg.has_cl_warmup else None,
            loss_koleo=None if loss_koleo is None else loss_koleo.detach(),
            loss_ibot=None if loss_ibot is None else loss_ibot.detach(),
            ibot_entropy=ibot_entropy,
        )

    def _mnm_term(self, token_logits: Tensor, views: ViewBatch) -> tuple[Tensor, Tensor]:
        """MNM loss and accuracy of the student's token logits (B, L, 5) at the masked positions."""
        if self.ssl_cfg.mnm_loss == "ce":
            return mnm_loss(token_logits, views.targets, views.mask)
        return reference_bce_mnm_loss(
            token_logits, views.targets, views.mask, self.ssl_cfg.student_temp
        )

    @torch.no_grad()
    def _teacher_outputs(self, views: ViewBatch) -> tuple[NetworkOutput, NetworkOutput | None]:
        """The teacher on v, and on u before masking when iBOT or the symmetric loss needs it."""
        assert self.teacher is not None
        t_out = self.teacher(views.teacher)
        t_full = None
        if self.ibot is not None or self.ssl_cfg.symmetric:
            t_full = self.teacher(unmasked_student_view(views))
        return t_out, t_full

    def _cl_pairs(
        self,
        views: ViewBatch,
        s_out: NetworkOutput,
        t_out: NetworkOutput,
        t_full: NetworkOutput | None,
    ) -> list[tuple[NetworkOutput, NetworkOutput]]:
        """The (student, teacher) outputs the CL term matches: u -> v, and v -> u if symmetric."""
        pairs = [(s_out, t_out)]
        if self.ssl_cfg.symmetric and t_full is not None:
            pairs.append((self.student(views.teacher), t_full))
        return pairs

    def _cl_term(
        self,
        pairs: list[tuple[NetworkOutput, NetworkOutput]],
        seq_len: int,
        teacher_temp: float | None,
    ) -> tuple[Tensor, Tensor]:
        """The CL loss and the teacher entropy, each the mean over the pairs; updates the centre.

        The teacher softmax runs once per pair: its targets serve both the loss and the entropy
        diagnostic. The loss uses the centre before this step's update.
        """
        assert self.distill is not None
        p = [self._features(s, seq_len, self.student_head) for s, _ in pairs]
        with torch.no_grad():
            q = [self._features(t, seq_len, self.teacher_head) for _, t in pairs]
            q_hat = [self.distill.teacher_probs(x, teacher_temp) for x in q]
            entropy = _mean([self.distill.target_entropy(x) for x in q_hat])
        loss = _mean([self.distill.cross_entropy(pi, qi) for pi, qi in zip(p, q_hat, strict=True)])
        if self.training:
            self.distill.update_center(q[0] if len(q) == 1 else torch.cat(q))
        return loss, entropy

    def _ibot_term(
        self,
        s_out: NetworkOutput,
        t_full: NetworkOutput,
        mask: Tensor,
        teacher_temp: float | None,
    ) -> tuple[Tensor, Tensor]:
        """iBOT loss and target entropy at the masked positions; updates the iBOT centre."""
        assert self.ibot is not None
        seq_len = mask.shape[1]
        p_tok = self._features(s_out, seq_len, self.student_head, cls=False)
        with torch.no_grad():
            q_tok = self._features(t_full, seq_len, self.teacher_head, cls=False)
        loss, entropy = self.ibot(p_tok, q_tok, mask, teacher_temp)
        if self.training:
            self.ibot.update_center(q_tok)
        return loss, entropy

    def _koleo_term(self, pairs: list[tuple[NetworkOutput, NetworkOutput]], seq_len: int) -> Tensor:
        """KoLeo over the student's CLS hidden states, averaged over its views.

        Per CLS token k, the spread of the batch's B states: groups of shape (K, B, d).
        """
        return _mean([koleo_loss(s.hidden[:, seq_len:].transpose(0, 1)) for s, _ in pairs])
