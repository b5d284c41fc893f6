"""``--train`` in words: the step's peak, its breakdown, the GPU verdict (table and markdown)."""

from __future__ import annotations

from netinspect.render.text import fmt_bytes
from netinspect.training_records import GpuFit, TrainingRecord

CATEGORY_LABELS = {
    "parameters": "parameters",
    "buffers": "buffers",
    "gradients": "gradients",
    "optimizer_state": "optimizer state",
    "activations": "activations (saved for backward)",
    "temporaries": "temporaries (backward, optimizer)",
    "inputs": "inputs",
}


ALLOWANCE_LABELS = {
    "cuda_context": "CUDA context",
    "fragmentation": "fragmentation",
    "nccl_buffers": "NCCL buffers",
}


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def gpu_lines(fit: GpuFit) -> list[tuple[str, str]]:
    verdict = "fits" if fit.fits else "does NOT fit"
    margin = fmt_bytes(abs(fit.margin_bytes)) + (" to spare" if fit.fits else " short")
    rows = [
        (
            f"GPU {fit.gpu}",
            f"{verdict}: needs {fmt_bytes(fit.needed_bytes)} of {fmt_bytes(fit.memory_bytes)}, "
            f"{margin}",
        ),
        ("  step peak", f"{fmt_bytes(fit.peak_bytes)} (CUDA allocations, 512-byte rounded)"),
    ]
    rows += [
        (f"  + {ALLOWANCE_LABELS.get(a.name, a.name)}", f"{fmt_bytes(a.bytes)}: {a.basis}")
        for a in fit.allowances
    ]
    return rows


def training_lines(t: TrainingRecord) -> list[tuple[str, str]]:
    """The step's summary lines: peak (phase, module), what it is made of, how it was run."""
    where = f"in {t.peak_phase}" + (f", in {t.peak_module}" if t.peak_module else "")
    rows = [
        ("Training step peak", f"{fmt_bytes(t.peak_bytes)} ({t.peak_bytes:,} B) {where}"),
    ]
    for key, label in CATEGORY_LABELS.items():
        value = t.by_category.get(key, 0)
        rows.append((f"  {label}", f"{fmt_bytes(value)} ({_share(value, t.peak_bytes)})"))
    impl = f"{t.optimizer} ({t.optimizer_implementation}: {t.target}'s default)"
    rows.append(("  optimizer", impl))
    rows.append(("  loss", t.loss))
    how = f"{t.dtype} on {t.target}, the second of two steps"
    if t.amp:
        how += f", autocast {t.amp}"
    if t.checkpoint:
        how += ", checkpointed: " + ", ".join(t.checkpoint)
    rows.append(("  step", how))
    if t.gpu is not None:
        rows += gpu_lines(t.gpu)
    return rows
