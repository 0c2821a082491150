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
from findna.ssl.balance import grad_ratio_scale, input_surrogate, student_forward
from findna.ssl.config import SSLConfig
from findna.ssl.diagnostics import gradient_conflict, teacher_spread
from findna.ssl.distill import CenteredDistillationLoss
from findna.ssl.ema import ema_update_
from findna.ssl.ibot import MaskedTokenDistillationLoss, unmasked_student_view
from findna.ssl.koleo import koleo_loss
from findna.ssl.mnm import mnm_loss, reference_bce_mnm_loss
from findna.ssl.output import SSLOutput

if TYPE_CHECKING:
    from findna.ssl.views import ViewBatch


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
        teacher: its EMA copy (None for cm-mnm, unless ``ssl.ema_copy``); the network used
            downstream.
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
        if ssl_cfg.cl_grad_ratio > 0:  # its factor, set on diagnostic steps; checkpointed
            self.register_buffer("cl_grad_scale", torch.ones(()))
        if ssl_cfg.has_ema_network:
            self.teacher = _frozen_copy(self.student)
        if ssl_cfg.uses_teacher:
            if self.student_head is not None:
                self.teacher_head = _frozen_copy(self.student_head)
            self.distill = CenteredDistillationLoss(
                n_cls=ssl_cfg.n_cls,
                dim=self.cl_dim,
                student_temp=ssl_cfg.student_temp,
                teacher_temp=ssl_cfg.teacher_temp,
                center_momentum=ssl_cfg.center_momentum,
                softmax=ssl_cfg.cl_softmax,
                centering=ssl_cfg.centering,
            )
            if ssl_cfg.ibot_weight > 0:
                self.ibot = MaskedTokenDistillationLoss(
                    dim=self.cl_dim,
                    student_temp=ssl_cfg.student_temp,
                    teacher_temp=ssl_cfg.teacher_temp,
                    center_momentum=ssl_cfg.center_momentum,
                )

    @property
    def cl_scale(self) -> float:
        """The factor on the distillation part (``ssl.cl_grad_ratio``; 1 without it)."""
        buf = getattr(self, "cl_grad_scale", None)
        return 1.0 if buf is None else float(buf)

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
        if self.distill is not None:
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
        self,
        views: ViewBatch,
        teacher_temp: float | None = None,
        cl_weight: float = 1.0,
        diagnose: bool = False,
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
            diagnose: also measure the conflict diagnostics (``findna.ssl.diagnostics``; one
                extra backward per term), returned in ``SSLOutput.diagnostics``; on such a step
                ``ssl.cl_grad_ratio`` updates its factor.

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
        stop = cfg.cl_stop_input_grad and torch.is_grad_enabled()
        s_out, live, cut = student_forward(self.student, views.student, stop)
        loss_mnm, acc = self._mnm_term(s_out.logits[:, :seq_len], views)
        diag: dict[str, Tensor] | None = None
        if self.teacher is None or self.distill is None:
            if diagnose and torch.is_grad_enabled():
                diag = gradient_conflict(self.student.named_parameters(), loss_mnm, None)
            return SSLOutput(
                loss=cfg.loss_scale * loss_mnm,
                loss_mnm=loss_mnm.detach(),
                mnm_acc=acc,
                diagnostics=diag,
            )

        t_out, t_full = self._teacher_outputs(views)
        center_norm = self.distill.center_norm()  # the centre this step's loss uses
        center = self.distill.center.clone() if diagnose else None
        pairs = self._cl_pairs(views, s_out, t_out, t_full, stop)
        loss_cl, teacher_entropy, q = self._cl_term(pairs, seq_len, teacher_temp)
        total = cfg.alpha * loss_mnm + (1.0 - cfg.alpha) * cl_weight * loss_cl
        loss_ibot = ibot_entropy = None
        if self.ibot is not None and t_full is not None:
            loss_ibot, ibot_entropy = self._ibot_term(s_out, t_full, views.mask, teacher_temp)
            total = total + cl_weight * cfg.ibot_weight * loss_ibot
        loss_koleo = None
        if cfg.koleo_weight > 0:
            loss_koleo = self._koleo_term(pairs, seq_len)
            total = total + cfg.koleo_weight * loss_koleo
        total, diag = self._balance(total, cfg.alpha * loss_mnm, diagnose, live, cut)
        if diag is not None:
            diag.update(teacher_spread(q, center if cfg.centering == "ema" else None))
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
            diagnostics=diag,
        )

    def _balance(
        self,
        total: Tensor,
        mnm_part: Tensor,
        diagnose: bool,
        live: Tensor | None,
        cut: Tensor | None,
    ) -> tuple[Tensor, dict[str, Tensor] | None]:
        """The total after the gradient-balance levers, and the step's gradient diagnostics.

        ``ssl.cl_grad_ratio`` scales the distillation part (``total - mnm_part``) by the factor
        of the last diagnostic step; ``ssl.cl_stop_input_grad`` adds the 0-valued term that
        gives the input layer the MNM gradient alone. Without either and ``diagnose`` the total
        is returned as it came.
        """
        cfg = self.ssl_cfg
        diag = None
        if diagnose and torch.is_grad_enabled():
            diag = gradient_conflict(self.student.named_parameters(), mnm_part, total)
            if cfg.cl_grad_ratio > 0 and self.training:
                scale = grad_ratio_scale(
                    cfg.cl_grad_ratio, diag["grad_mnm"], diag["grad_cl"], self.cl_scale
                )
                self.cl_grad_scale.fill_(scale)
        if cfg.cl_grad_ratio > 0:  # the buffer, not a float: no device sync per step
            scale = self.cl_grad_scale.to(total.dtype)
            total = mnm_part + scale * (total - mnm_part)
            if diag is not None:
                diag["cl_scale"] = scale.detach().clone()
        if live is not None and cut is not None:
            total = total + input_surrogate(mnm_part, live, cut)
        return total, diag

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
        stop: bool = False,
    ) -> list[tuple[NetworkOutput, NetworkOutput]]:
        """The (student, teacher) outputs the CL term matches: u -> v, and v -> u if symmetric
        (that second student view feeds only CL, so with ``stop`` its input layer gets none)."""
        pairs = [(s_out, t_out)]
        if self.ssl_cfg.symmetric and t_full is not None:
            pairs.append((student_forward(self.student, views.teacher, stop, False)[0], t_full))
        return pairs

    def _cl_term(
        self,
        pairs: list[tuple[NetworkOutput, NetworkOutput]],
        seq_len: int,
        teacher_temp: float | None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """The CL loss and the teacher entropy, each the mean over the pairs, and the first
        pair's raw teacher features (B, K, D); updates the centre.

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
        return loss, entropy, q[0]

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
