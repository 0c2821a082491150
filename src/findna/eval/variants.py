"""Zero-shot variant scoring with the MNM head: ``llr = log P(alt) - log P(ref)``.

For a single-nucleotide variant at 0-based position p of a chromosome, a window of W bp is cut
from the reference with the variant at index ``c = W // 2`` (bases beyond a chromosome end are
N). The variant's base is masked the way MNM masks a position in pretraining (the zero vector,
i.e. code PAD, :mod:`findna.ssl.masking`), the K zero CLS rows are appended (as the pretraining
views do, :mod:`findna.ssl.views`), and the network's per-token head
(``FinDNANetwork(...).forward(x).logits``, the MNM logits of :mod:`findna.ssl.mnm`) is read at the
masked position. A log-softmax over the A, C, G, T channels (N left out) gives
``llr_fwd = log P(alt) - log P(ref)``. The reverse complement of the same masked window is scored
the same way at its masked position (``W - 1 - c``) with the complemented alleles, giving
``llr_rev``; ``llr`` is their mean. Because the masked position hides the allele, swapping REF
and ALT exactly negates the score. The choices (window, strands, edges) are in docs/variants.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from findna.data.alphabet import BASES, PAD, encode, one_hot, reverse_complement_codes
from findna.data.reference import ReferenceGenome
from findna.data.variants import Variant
from findna.eval.features import autocast
from findna.eval.variants_config import VariantScoreConfig
from findna.model.loading import SCRATCH, resolve_source
from findna.model.network import FinDNANetwork

log = logging.getLogger(__name__)

SCORE_COLUMNS = ("llr", "llr_fwd", "llr_rev", "status", "error")
"""Columns added to the input's; ``status`` is ``ok`` or one of :data:`STATUSES`."""
STATUSES = ("unknown_chrom", "out_of_range", "ref_mismatch", "non_snv")
_COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A"}


def choose_network(source: str, which: str) -> str:
    """``which`` with ``auto`` resolved: the student where the source holds one, else the teacher.

    The MNM loss trains the student's head; the teacher is its moving average (docs/method.md
    §2.4-2.5). An exported model holds only the teacher.
    """
    if which != "auto":
        return which
    if str(source) == SCRATCH:
        return "teacher"
    try:
        resolve_source(source, "student")
    except ValueError:
        log.info("%s is an exported model: scoring with its only network, the teacher", source)
        return "teacher"
    return "student"


def model_window(net: FinDNANetwork, window: int | None, n_cls: int) -> int:
    """The window in bp: ``window`` or ``max_len - n_cls``, checked against the network.

    Raises:
        ValueError: the window plus the CLS rows does not fit the network's ``max_len``.
    """
    max_len = net.config.max_len
    w = window if window is not None else max_len - n_cls
    if w < 1 or w + n_cls > max_len:
        raise ValueError(
            f"a window of {w} bp + {n_cls} CLS rows does not fit the model's max_len {max_len}; "
            f"use --window {max_len - n_cls} or less (and --n-cls as in pretraining)"
        )
    return w


@torch.inference_mode()
def site_log_probs(
    net: FinDNANetwork,
    windows: np.ndarray,
    *,
    n_cls: int = 10,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    precision: str = "32-true",
) -> np.ndarray:
    """MNM log-probabilities of A, C, G, T at the masked centre of each window, on both strands.

    Args:
        net: the network, on ``device``, in eval mode.
        windows: (S, W) uint8 reference codes; the site is at index ``W // 2`` (its base is
            masked here, so its value does not matter).
        n_cls: zero CLS rows appended after each window.
        batch_size: windows per forward pass.
        device: where ``net`` lives.
        precision: autocast precision name.

    Returns:
        (S, 2, 4) float64: ``[:, 0]`` the forward strand, ``[:, 1]`` the reverse complement, each
        over A, C, G, T as read on that strand (index the reverse with complemented alleles).
    """
    device = torch.device(device)
    sites, width = windows.shape
    centre = width // 2
    codes = windows.astype(np.uint8, copy=True)
    codes[:, centre] = PAD  # the MNM mask token: the all-zero row
    both = np.concatenate([codes, reverse_complement_codes(codes)])
    both = np.concatenate([both, np.full((2 * sites, n_cls), PAD, dtype=np.uint8)], axis=1)
    masked = np.r_[np.full(sites, centre), np.full(sites, width - 1 - centre)]
    out = np.empty((2 * sites, 4), dtype=np.float64)
    for start in range(0, 2 * sites, batch_size):
        stop = min(start + batch_size, 2 * sites)
        x = one_hot(torch.from_numpy(both[start:stop]).to(device))
        with autocast(device, precision):
            logits = net(x).logits  # fixed-length views, like pretraining: lengths=None
        rows = torch.arange(stop - start, device=device)
        at = logits[rows, torch.from_numpy(masked[start:stop]).to(device), :4].float()
        out[start:stop] = torch.log_softmax(at, dim=-1).double().cpu().numpy()
    return np.stack([out[:sites], out[sites:]], axis=1)


@dataclass(frozen=True)
class VariantScore:
    """The score of one variant; NaN scores when ``status`` is not ``ok``."""

    llr: float
    llr_fwd: float
    llr_rev: float
    status: str
    error: str


def check_variant(genome: ReferenceGenome, v: Variant) -> tuple[str, str] | None:
    """``(status, message)`` when the variant cannot be scored, None when it can.

    Checks, in order: the chromosome is a genome record, REF lies inside it, REF matches the
    genome, and the variant is a single-nucleotide variant.
    """
    length = genome.length(v.chrom)
    if length is None:
        hint = genome.unknown_record_hint(v.chrom)
        return "unknown_chrom", f"{v.where}: chromosome {v.chrom!r} is not in {genome.path}; {hint}"
    if v.start + len(v.ref) > length:
        return "out_of_range", (
            f"{v.where}: position {v.pos} (REF {len(v.ref)} bp) is past the end of {v.chrom} "
            f"({length} bp in {genome.path}); positions are 1-based, check the genome build"
        )
    found = genome.fetch(v.chrom, v.start, v.start + len(v.ref))
    if not np.array_equal(found, encode(v.ref)):
        seen = "".join(BASES[c] for c in found)
        return "ref_mismatch", (
            f"{v.where}: REF {v.ref!r} does not match the genome, which has {seen!r} at "
            f"{v.chrom}:{v.pos} ({genome.path}); check that the variants were called on this "
            "genome build and that positions are 1-based"
        )
    if v.non_snv is not None:
        return "non_snv", f"{v.where}: {v.non_snv}"
    return None


def check_policies(
    genome: ReferenceGenome, variants: Iterable[Variant], cfg: VariantScoreConfig
) -> tuple[int, int]:
    """One pass before any scoring: raise for what the policies refuse; count what stays.

    Returns:
        ``(kept, skipped)``: variants in the output and non-SNVs left out (``non_snv: skip``).

    Raises:
        ValueError: the first variant refused by ``on_mismatch: error`` or ``non_snv: error``.
    """
    kept = skipped = 0
    for v in variants:
        issue = check_variant(genome, v)
        if issue is not None:
            status, message = issue
            policy = cfg.non_snv if status == "non_snv" else cfg.on_mismatch
            if policy == "error":
                fix = "--non-snv flag or skip" if status == "non_snv" else "--on-mismatch flag"
                raise ValueError(f"{message} (pass {fix} to keep going)")
            if policy == "skip":
                skipped += 1
                continue
        kept += 1
    return kept, skipped


def score_chunk(
    net: FinDNANetwork,
    genome: ReferenceGenome,
    variants: list[Variant],
    window: int,
    cfg: VariantScoreConfig,
    device: torch.device,
) -> list[VariantScore | None]:
    """Scores of a list of variants; None for a non-SNV left out (``non_snv: skip``).

    Each distinct site (chromosome, position) is run once for all its alleles.

    Raises:
        ValueError: a variant refused by a policy set to ``error``.
    """
    issues = [check_variant(genome, v) for v in variants]
    sites: dict[tuple[str, int], int] = {}
    for v, issue in zip(variants, issues, strict=True):
        if issue is None:
            sites.setdefault((v.chrom, v.start), len(sites))
    lp = np.empty((0, 2, 4))
    if sites:
        half = window // 2
        windows = np.stack([genome.fetch(c, p - half, p - half + window) for c, p in sites])
        lp = site_log_probs(
            net,
            windows,
            n_cls=cfg.n_cls,
            batch_size=cfg.batch_size,
            device=device,
            precision=cfg.precision,
        )
    out: list[VariantScore | None] = []
    for v, issue in zip(variants, issues, strict=True):
        if issue is not None:
            status, message = issue
            policy = cfg.non_snv if status == "non_snv" else cfg.on_mismatch
            if policy == "error":
                raise ValueError(message)
            nan = float("nan")
            out.append(None if policy == "skip" else VariantScore(nan, nan, nan, status, message))
            continue
        s = lp[sites[(v.chrom, v.start)]]
        ref, alt = BASES.index(v.ref), BASES.index(v.alt)
        rc_ref, rc_alt = BASES.index(_COMPLEMENT[v.ref]), BASES.index(_COMPLEMENT[v.alt])
        fwd, rev = float(s[0, alt] - s[0, ref]), float(s[1, rc_alt] - s[1, rc_ref])
        out.append(VariantScore((fwd + rev) / 2, fwd, rev, "ok", ""))
    return out


def scored_chunks(
    net: FinDNANetwork,
    genome: ReferenceGenome,
    variants: Iterable[Variant],
    window: int,
    cfg: VariantScoreConfig,
    device: torch.device,
) -> Iterator[tuple[list[Variant], list[VariantScore]]]:
    """``chunk_size`` variants at a time with their scores (skipped non-SNVs left out)."""
    it = iter(variants)
    while True:
        chunk = [v for _, v in zip(range(cfg.chunk_size), it, strict=False)]
        if not chunk:
            return
        scores = score_chunk(net, genome, chunk, window, cfg, device)
        kept = [(v, s) for v, s in zip(chunk, scores, strict=True) if s is not None]
        yield [v for v, _ in kept], [s for _, s in kept]  # type: ignore[misc]


__all__ = [
    "SCORE_COLUMNS",
    "STATUSES",
    "VariantScore",
    "VariantScoreConfig",
    "check_policies",
    "check_variant",
    "choose_network",
    "model_window",
    "score_chunk",
    "scored_chunks",
    "site_log_probs",
]
