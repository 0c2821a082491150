"""KoLeo spread regulariser (DINOv2; Sablayrolles et al. 2019, "Spreading vectors").

``L = -1/n sum_i log(d_i)``, d_i the Euclidean distance of the L2-normalised point x_i to its
nearest neighbour among the other points of its group. It grows without bound as points
coincide and falls as they spread over the sphere, so it pushes a batch of features apart (a
guard against the collapse of all samples onto one representation). findna applies it to the
student's CLS hidden states, one group per CLS token (the batch's B points), as DINOv2 applies it
to the student's class token (``ssl.koleo_weight``, docs/method.md §2.6).

Computes in float32 with autocast off, so it is safe under bf16/fp16 autocast.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

KOLEO_EPS = 1e-8
"""DINOv2's epsilon: in the normalisation, the pairwise distance and the logarithm."""


def koleo_loss(points: Tensor, eps: float = KOLEO_EPS) -> Tensor:
    """KoLeo loss of groups of points, averaged over all points of all groups.

    Args:
        points: (..., N, d) features; each leading index is a group of N points (e.g. (K, B, d):
            per CLS token, the batch). They are L2-normalised first.
        eps: added to the distance (inside the norm, as ``F.pairwise_distance``) and to the
            distance before the logarithm.

    Returns:
        0-dim float32 loss; an exact 0 with a graph when a group has fewer than 2 points (no
        neighbour to measure).
    """
    if points.dim() < 2:
        raise ValueError(f"koleo_loss needs (..., N, d) points, got shape {tuple(points.shape)}")
    with torch.autocast(points.device.type, enabled=False):
        x = F.normalize(points.float(), dim=-1, eps=eps)
        n = x.shape[-2]
        if n < 2:
            return x.sum() * 0.0
        with torch.no_grad():
            dots = x @ x.transpose(-1, -2)  # cosine similarities, (..., N, N)
            dots.diagonal(dim1=-2, dim2=-1).fill_(-2.0)  # never one's own neighbour
            nearest = dots.argmax(dim=-1)  # (..., N)
        neighbours = torch.gather(x, -2, nearest.unsqueeze(-1).expand_as(x))
        distances = F.pairwise_distance(x, neighbours, p=2.0, eps=eps)  # (..., N)
        return -torch.log(distances + eps).mean()
