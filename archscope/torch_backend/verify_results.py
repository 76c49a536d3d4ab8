"""The results of :func:`archscope.torch_backend.verification.verify`: per layer, what archscope
says and what the built network measures, and the disagreements between them (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archscope.ops.registry import Shape


@dataclass(frozen=True)
class Mismatch:
    layer: str  # `network` for whole-network totals
    quantity: str  # shape, params, buffers, macs, error
    static: Any
    real: Any
    source: str  # where the real number comes from

    def __str__(self) -> str:
        def show(v: Any) -> str:
            if isinstance(v, tuple):
                return "(" + ", ".join(map(str, v)) + ")"
            return f"{v:,}" if isinstance(v, int) else str(v)

        if self.quantity == "error":
            return f"`{self.layer}`: {self.real}"
        return f"`{self.layer}`: {self.quantity} {show(self.static)} (archscope) ≠ {show(self.real)} ({self.source})"


@dataclass(frozen=True)
class LayerCheck:
    """One layer: static numbers beside the measured ones. Shapes exclude the batch."""

    name: str
    op: str
    module: str  # qualified name in the built module
    static_shape: Shape
    meta_shape: Shape | None  # whole-network pass
    real_shape: Shape | None  # the layer alone, on CPU
    static_params: int
    module_params: int
    static_buffers: int
    module_buffers: int
    static_macs: int
    fvcore_macs: int | None
    static_ops: int
    mac_source: str = "fvcore"
    fvcore_other: tuple[tuple[str, int], ...] = ()  # fvcore's non-MAC counts, reported apart
    unsupported: tuple[tuple[str, int], ...] = ()  # aten ops fvcore skipped, with how often
    error: str | None = None
    notes: tuple[str, ...] = ()
    static_trainable: int = 0
    module_trainable: int = 0  # numel of the parameters with requires_grad

    def mismatches(self, shape_source: str) -> list[Mismatch]:
        out = []
        if self.error:
            out.append(Mismatch(self.name, "error", None, self.error, "torch"))
        if self.meta_shape is not None and self.meta_shape != self.static_shape:
            out.append(Mismatch(self.name, "shape", self.static_shape, self.meta_shape, shape_source))
        if self.real_shape is not None and self.real_shape != self.static_shape:
            out.append(Mismatch(self.name, "shape", self.static_shape, self.real_shape, "layer forward (cpu)"))
        if self.static_params != self.module_params:
            out.append(Mismatch(self.name, "params", self.static_params, self.module_params, "module numel"))
        if self.static_trainable != self.module_trainable:
            out.append(
                Mismatch(self.name, "trainable", self.static_trainable, self.module_trainable, "module requires_grad")
            )
        if self.static_buffers != self.module_buffers:
            out.append(Mismatch(self.name, "buffers", self.static_buffers, self.module_buffers, "module numel"))
        if self.fvcore_macs is not None and self.static_macs != self.fvcore_macs:
            out.append(Mismatch(self.name, "macs", self.static_macs, self.fvcore_macs, self.mac_source))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "op": self.op,
            "module": self.module,
            "shape": {
                "static": list(self.static_shape),
                "meta": _list(self.meta_shape),
                "real": _list(self.real_shape),
            },
            "params": {"static": self.static_params, "module": self.module_params},
            "trainable": {"static": self.static_trainable, "module": self.module_trainable},
            "buffers": {"static": self.static_buffers, "module": self.module_buffers},
            "macs": {"static": self.static_macs, "fvcore": self.fvcore_macs, "source": self.mac_source},
            "static_ops": self.static_ops,
            "fvcore_other": dict(self.fvcore_other),
            "fvcore_unsupported": dict(self.unsupported),
            "error": self.error,
            "notes": list(self.notes),
        }


def _list(shape: Shape | None) -> list[int] | None:
    return None if shape is None else list(shape)


@dataclass(frozen=True)
class VerifyReport:
    source: str
    name: str
    input: Shape
    layers: tuple[LayerCheck, ...]
    output_static: Shape
    output_forward: Shape | None
    shape_pass: str  # "meta forward" or "cpu forward"
    totals: dict[str, dict[str, int | None]] = field(default_factory=dict)
    seconds: float = 0.0
    measured_layers: int = 0  # layers fvcore ran (the others repeat one of these)
    forward_error: str | None = None  # the whole-network forward pass failed
    # every output: its name, static shape and the shape the whole network returned there
    outputs: tuple[tuple[str, Shape, Shape | None], ...] = ()

    @property
    def mismatches(self) -> list[Mismatch]:
        out = [m for layer in self.layers for m in layer.mismatches(self.shape_pass)]
        if self.forward_error:
            out.append(Mismatch("network", "error", None, f"the forward pass failed: {self.forward_error}", "torch"))
        elif len(self.outputs) > 1:
            for name, static, forward in self.outputs:
                if forward != static:
                    out.append(Mismatch("network", f"output `{name}` shape", static, forward, self.shape_pass))
        elif self.output_forward != self.output_static:
            out.append(Mismatch("network", "output shape", self.output_static, self.output_forward, self.shape_pass))
        sources = {"macs": "fvcore", "trainable": "module requires_grad", "frozen": "module requires_grad"}
        for quantity, row in self.totals.items():
            real_key = "fvcore" if quantity == "macs" else "module"
            if row[real_key] is not None and row["static"] != row[real_key]:
                out.append(
                    Mismatch(
                        "network",
                        f"total {quantity}",
                        row["static"],
                        row[real_key],
                        sources.get(quantity, "module numel"),
                    )
                )
        return out

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def fvcore_notes(self) -> dict[str, dict[str, int]]:
        """How many layers fvcore counted extra work in, and which aten ops it skipped (×calls)."""
        extra: dict[str, int] = {}
        unsupported: dict[str, int] = {}
        for layer in self.layers:
            for op, _ in layer.fvcore_other:
                extra[op] = extra.get(op, 0) + 1
            for op, n in layer.unsupported:
                unsupported[op] = unsupported.get(op, 0) + n
        return {"counted_apart_layers": extra, "unsupported_calls": unsupported}

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "name": self.name,
            "input": list(self.input),
            "ok": self.ok,
            "shape_pass": self.shape_pass,
            "forward_error": self.forward_error,
            "output": {"static": list(self.output_static), "forward": _list(self.output_forward)},
            "outputs": [
                {"name": name, "static": list(static), "forward": _list(forward)}
                for name, static, forward in self.outputs
            ],
            "totals": self.totals,
            "seconds": round(self.seconds, 3),
            "measured_layers": self.measured_layers,
            "mismatches": [str(m) for m in self.mismatches],
            "fvcore_notes": self.fvcore_notes(),
            "layers": [layer.to_dict() for layer in self.layers],
        }
