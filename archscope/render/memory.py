"""The table model of `archscope memory`: per layer what it allocates, keeps and has alive, and
the totals of the peak."""

from __future__ import annotations

from typing import Any

from archscope.passes.memory import BACKWARD, STEP, Memory
from archscope.render.numbers import size_bytes
from archscope.render.summary import grouped_rows
from archscope.results.report import Report
from archscope.results.table import Column, Table

CONVENTION = (
    "memory in bytes (KiB/MiB/GiB = 2^10/2^20/2^30) for the whole batch at the dtype, replayed from the graph: "
    "a tensor lives until its last consumer (or until backward has used what autograd keeps); in-place layers "
    "and views allocate nothing; a floor: allocator rounding and caching, conv workspaces and framework "
    "tensors are not counted"
)


def _columns(train: bool) -> tuple[Column, ...]:
    cols = [
        Column("name", "layer", "name"),
        Column("op", "op"),
        Column("output_shape", "output", "shape"),
        Column("output_bytes", "allocates", "bytes", blank_zero=True),
    ]
    if train:
        cols.append(Column("saved_bytes", "kept for backward", "bytes", blank_zero=True))
    cols.append(Column("live_bytes", "live (forward)", "bytes"))
    if train:
        cols.append(Column("backward_live_bytes", "live (backward)", "bytes"))
    return tuple(cols)


def memory_dict(memory: Memory) -> dict[str, Any]:
    o = memory.options
    peak = memory.peak
    return {
        "batch": o.batch,
        "dtype": o.dtype,
        "train": o.train,
        "optimizer": o.optimizer if o.train else None,
        "peak_bytes": memory.peak_bytes,
        "weights_bytes": memory.weights_bytes,
        "gradients_bytes": memory.gradients_bytes,
        "optimizer_bytes": memory.optimizer_bytes,
        "activations_bytes": memory.activations_bytes,
        "input_bytes": memory.input_bytes,
        "peak": {
            "phase": memory.peak_phase,
            "layer": memory.peak_layer or None,
            "weights_bytes": peak.weights,
            "gradients_bytes": peak.gradients,
            "optimizer_bytes": peak.optimizer,
            "activations_bytes": peak.activations,
            "temporaries_bytes": peak.temporaries,
        },
    }


def _where(memory: Memory) -> str:
    if memory.peak_phase == STEP:
        return "in the optimizer step"
    return f"in {memory.peak_phase} of `{memory.peak_layer}`"


def memory_table(report: Report, memory: Memory, depth: int | None = None, note: str | None = None) -> Table:
    """One row per layer (or per group of ``depth``: sums of what it allocates and keeps, the
    largest live total); JSON has every layer."""
    train = memory.options.train
    o = memory.options
    mode = f"training step, {o.optimizer}" if train else "inference"
    notes: tuple[str, ...] = ()
    if train and memory.peak_phase == BACKWARD:
        notes = ("the peak is in backward: what forward kept, minus what backward has already freed, plus gradients",)
    return Table(
        _columns(train),
        _memory_rows(report, memory, depth),
        title=f"{report.title}: memory, {mode}, batch {o.batch}, {o.dtype}",
        preamble=tuple(line for line in (note,) if line),
        footer=_memory_footer(memory),
        notes=notes,
        convention=CONVENTION,
        document=_memory_document(report, memory),
    )


def _memory_rows(report: Report, memory: Memory, depth: int | None) -> tuple[tuple[Any, ...], ...]:
    """Each layer's row, or each group's under ``depth``: the last output shape, the sums of what
    its layers allocate and keep, and the largest live totals (forward; backward when training)."""
    train = memory.options.train
    shapes = {row.name: row.output_shape for row in report.layers}
    groups: dict[str, list[Any]] = {}
    for layer in memory.layers:
        key = ".".join(layer.name.split(".")[:depth]) if depth else layer.name
        g = groups.get(key)
        if g is None:
            groups[key] = [layer.op if key == layer.name else "", shapes[layer.name], layer.output_bytes]
            groups[key] += [layer.saved_bytes, layer.forward_live_bytes, layer.backward_live_bytes]
            continue
        g[1] = shapes[layer.name]
        g[2] += layer.output_bytes
        g[3] += layer.saved_bytes
        g[4] = max(g[4], layer.forward_live_bytes)
        if layer.backward_live_bytes is not None:
            g[5] = max(g[5] or 0, layer.backward_live_bytes)
    labels = {row.name: row.op for row in grouped_rows(report, depth)} if depth else {}
    rows: list[tuple[Any, ...]] = []
    for key, (op, out_shape, allocated, saved, live, back) in groups.items():
        row: list[Any] = [key, labels.get(key, op), out_shape, allocated]
        if train:
            row.append(saved)
        row.append(live)
        if train:
            row.append(back)
        rows.append(tuple(row))
    return tuple(rows)


def _memory_footer(memory: Memory) -> tuple[str, ...]:
    """The peak and where it is, the totals, and what is live at the peak."""
    train = memory.options.train
    lines = [f"peak {size_bytes(memory.peak_bytes)} {_where(memory)}"]
    parts = [f"weights {size_bytes(memory.weights_bytes)}"]
    if train:
        parts += [
            f"gradients {size_bytes(memory.gradients_bytes)}",
            f"optimizer state {size_bytes(memory.optimizer_bytes)}",
            f"kept for backward {size_bytes(memory.activations_bytes)}",
        ]
    else:
        parts.append(f"activations at the peak {size_bytes(memory.activations_bytes)}")
    parts.append(f"input {size_bytes(memory.input_bytes)}")
    lines.append(", ".join(parts))
    p = memory.peak
    at_peak = f"at the peak: weights {size_bytes(p.weights)}, activations {size_bytes(p.activations)}"
    if train:
        at_peak += (
            f", gradients {size_bytes(p.gradients)}, optimizer state {size_bytes(p.optimizer)}, "
            f"temporaries {size_bytes(p.temporaries)}"
        )
    lines.append(at_peak)
    return tuple(lines)


def _memory_document(report: Report, memory: Memory) -> dict[str, Any]:
    return {
        "name": report.name,
        "title": report.title,
        "input": list(report.input),
        **memory_dict(memory),
        "layers": [
            {
                "name": layer.name,
                "op": layer.op,
                "output_bytes": layer.output_bytes,
                "saved_bytes": layer.saved_bytes,
                "live_bytes": layer.forward_live_bytes,
                "backward_live_bytes": layer.backward_live_bytes,
            }
            for layer in memory.layers
        ],
    }
