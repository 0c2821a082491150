"""Launch-overhead proxy of ``findna bench compare``: operator and kernel counts of one step.

``torch.profiler`` records every ATen operator the step dispatches. Leaf operators (those that
call no other ATen operator), less pure view/metadata operators that launch nothing, are close to
the number of kernels the step launches on a GPU, and can be counted on the CPU. On CUDA the
profiler also records the device kernels themselves, which are counted directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import torch
from torch.profiler import ProfilerActivity, profile

from findna.perf.device import synchronize

NO_KERNEL_OPS = frozenset(
    f"aten::{name}"
    for name in (
        "empty empty_like empty_strided view _unsafe_view as_strided t transpose reshape "
        "_reshape_alias expand unsqueeze squeeze permute select slice detach alias resize_ "
        "lift_fresh set_ result_type split unbind chunk narrow numpy_T size stride is_same_size "
        "contiguous flatten unflatten view_as expand_as resolve_conj resolve_neg to type_as"
    ).split()
)
"""Operators counted as launching no kernel (views, metadata, allocation)."""


def count_ops(fn: Callable[[], object], device: torch.device) -> dict[str, object]:
    """Run ``fn`` once under the profiler; count leaf ATen operators and CUDA kernels.

    Returns:
        ``leaf_ops`` (leaf ATen operators that may launch a kernel), ``all_aten_ops`` (every ATen
        operator event, nested ones too), ``cuda_kernels`` (None on the CPU) and ``top_ops``
        (the 12 most frequent leaf operators with their counts).
    """
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    synchronize(device)
    with profile(activities=activities) as prof:
        fn()
        synchronize(device)
    events = prof.events()
    aten = [e for e in events if e.name.startswith("aten::")]
    leaves = Counter(
        e.name
        for e in aten
        if e.name not in NO_KERNEL_OPS
        and not any(c.name.startswith("aten::") for c in e.cpu_children)
    )
    kernels = None
    if device.type == "cuda":
        cuda = torch.autograd.DeviceType.CUDA
        kernels = sum(1 for e in events if e.device_type == cuda)
        if kernels == 0:
            kernels = sum(len(e.kernels) for e in events)
    return {
        "leaf_ops": sum(leaves.values()),
        "all_aten_ops": len(aten),
        "cuda_kernels": kernels,
        "top_ops": dict(leaves.most_common(12)),
    }
