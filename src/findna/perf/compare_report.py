"""Ratios and the Markdown table of ``findna bench compare`` (issue 10's targets next to them)."""

from __future__ import annotations

from collections.abc import Sequence


def _fastest(cases: Sequence[dict], group: str, exclude: tuple[str, ...] = ()) -> dict | None:
    timed = [
        c
        for c in cases
        if c["group"] == group and c["ms"] is not None and c["variant"] not in exclude
    ]
    return min(timed, key=lambda c: c["ms"]) if timed else None


def _case(cases: Sequence[dict], group: str, variant: str | None = None, **match) -> dict | None:
    for c in cases:
        if c["group"] != group or c["ms"] is None:
            continue
        if variant is not None and c["variant"] != variant:
            continue
        if all(c.get(k) == v for k, v in match.items()):
            return c
    return None


def ratios(data: dict) -> list[dict]:
    """Side-by-side ratios from one run, each with the issue's target where it has one.

    ``value`` is a ratio of times measured in the same process; ``met`` is None without a target.
    """
    cases = data["cases"]
    out: list[dict] = []

    def add(label: str, value: float | None, target: str = "", met: bool | None = None) -> None:
        if value is not None:
            out.append({"ratio": label, "value": round(value, 3), "target": target, "met": met})

    for group in ("step", "network"):
        timed = [c for c in cases if c["group"] == group and c["ms"] is not None]
        base = _case(cases, group, "reference") or _case(cases, group, "auto")
        base = base or (timed[0] if timed else None)
        for c in cases:
            if c["group"] == group and c["ms"] is not None and base and c is not base:
                label = f"{group}: {base['variant']} / {c['variant']} time (speed-up)"
                add(label, base["ms"] / c["ms"])
    step = _fastest(cases, "step")
    if step:
        add(
            f"step: fastest ({step['variant']}) ms per step",
            step["ms"],
            "<= 35 ms",
            step["ms"] <= 35.0,
        )
    net = _fastest(cases, "network")
    for peer, need in (("DNABERT-2", 1.7), ("NT-500M", 3.0)):
        p = next((c for c in cases if c["group"] == "peers" and peer in c["name"]), None)
        if net and p and p["ms"] is not None:
            value = p["ms"] / net["ms"]
            target = f">= {need}" + (" (stretch 3)" if need == 1.7 else "")
            add(
                f"{p['name']} / ChordMixer network ({net['variant']}) time",
                value,
                target,
                value >= need,
            )
    sweep_cm = sorted(
        (c for c in cases if c["group"] == "sweep" and c["name"].startswith("ChordMixer")),
        key=lambda c: c["tokens"],
    )
    sweep_cm = [c for c in sweep_cm if c["ms"] is not None]
    for variant in dict.fromkeys(c["variant"] for c in sweep_cm):
        runs = [c for c in sweep_cm if c["variant"] == variant]
        if len(runs) >= 2:
            lo, hi = runs[0], runs[-1]
            value = hi["us_per_token"] / lo["us_per_token"]
            label = f"sweep ({variant}): ChordMixer us/token at {hi['tokens']} / at {lo['tokens']}"
            add(label, value, "<= 1.6", value <= 1.6)
    sdpa = [
        x
        for x in cases
        if x["group"] == "sweep" and x["name"].startswith("SDPA") and x["ms"] is not None
    ]
    for c in sweep_cm:
        t = next((x for x in sdpa if x["tokens"] == c["tokens"]), None)
        if t:
            value = t["us_per_token"] / c["us_per_token"]
            need = c["tokens"] >= 4000
            label = f"sweep L={c['tokens']}: Transformer / ChordMixer ({c['variant']}) us per token"
            add(label, value, "> 1 from 4k" if need else "", (value > 1.0) if need else None)
    return out


def _f(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def compare_markdown(data: dict) -> str:
    """Cases, ratios and kernel counts as Markdown tables."""
    head = (
        "| group | case | variant | dtype | batch x tokens | ms | us/token | TFLOP/s | of peak "
        "| peak mem GiB | compile s | note |"
    )
    lines = [head, "|---" * 12 + "|"]
    for c in data["cases"]:
        mem = None if c["peak_mem_mib"] is None else c["peak_mem_mib"] / 1024
        share = None if c["peak_share"] is None else 100 * c["peak_share"]
        note = c["error"] and f"error: {c['error']}" or c["note"]
        lines.append(
            f"| {c['group']} | {c['name']} | {c['variant']} | {c['dtype']} | "
            f"{c['batch']} x {c['tokens']} | {_f(c['ms'], '.2f')} | {_f(c['us_per_token'], '.3f')} "
            f"| {_f(c['tflops'], '.1f')} | {_f(share, '.0f')}% | {_f(mem, '.2f')} | "
            f"{_f(c['compile_s'], '.1f')} | {note} |"
        )
    parts = ["\n".join(lines)]
    rows = data.get("ratios") or ratios(data)
    if rows:
        r_lines = ["| ratio | value | target | met |", "|---|---|---|---|"]
        for r in rows:
            met = "" if r["met"] is None else ("yes" if r["met"] else "**no**")
            r_lines.append(f"| {r['ratio']} | {r['value']:.2f} | {r['target']} | {met} |")
        parts.append("\n".join(r_lines))
    if data.get("kernels"):
        k_lines = [
            "| step variant | batch | leaf ATen ops | all ATen ops | CUDA kernels | top ops |",
            "|---|---|---|---|---|---|",
        ]
        for k in data["kernels"]:
            if "error" in k:
                k_lines.append(f"| {k['variant']} | | | | | error: {k['error']} |")
                continue
            top = ", ".join(f"{n.removeprefix('aten::')} {c}" for n, c in k["top_ops"].items())
            k_lines.append(
                f"| {k['variant']} | {k['batch']} | {k['leaf_ops']} | {k['all_aten_ops']} | "
                f"{_f(k['cuda_kernels'], 'd')} | {top} |"
            )
        parts.append("\n".join(k_lines))
    return "\n\n".join(parts)
