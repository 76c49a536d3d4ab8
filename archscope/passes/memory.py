"""Memory: how many bytes one inference pass or one training step holds at its peak, from the
graph alone (no torch), and which layer it happens in.

The model replays the step the built module runs, tensor by tensor, in its execution order,
and keeps a running total of the bytes alive:

- **weights**: parameters and buffers, all the time;
- **forward**: each layer's output is allocated when it runs and freed after its last consumer
  (the generated ``forward`` drops each value then), unless backward still needs it. A layer
  whose op declares ``inplace`` writes into its input under the same rule the PyTorch backend
  uses (:func:`inplace_nodes`), and an op whose output is a view (``MemoryFacts.view``: flatten,
  split, dropout at inference) allocates nothing: both keep the storage they share alive until
  the last of its users. Extra outputs (pooling switches) count at their own item size;
- **training** adds what autograd keeps: for a layer that records a backward (one of its inputs
  requires grad, or it has parameters that train), what its op's ``Saves`` declares (its
  inputs, its output, per-channel statistics, masks); the tensors it keeps stay alive until its
  backward has run. Layers before the first trainable one record nothing (as the training pass
  says which layers run a backward);
- **backward** runs the layers in reverse: a layer's output gradient lives from the first
  consumer's backward that produces it to the layer's own backward; each layer allocates a
  gradient for every input that requires grad (none when its op passes the gradient through,
  ``MemoryFacts.grad_view``: add, concat, views) and, the first time, the gradient of its
  parameters, which stay until the optimizer step; after its backward, what it kept is freed;
- **optimizer**: its state (momentum 1×, Adam/AdamW 2× the trainable parameters, in their
  dtype) exists through the whole step (the steady state of a training loop: the first step
  creates it); the step itself needs temporaries: Adam's ``denom`` computes two tensors the
  size of one parameter (PyTorch's single-tensor implementation, the default on CPU), SGD none.

Every number is for the whole batch at the chosen dtype (parameters, buffers and activations
in it; int64 indices stay 8 bytes). The peak is a floor: allocator rounding and caching, the
workspace of convolution algorithms and the framework's own tensors are not counted. The
proof is ``tests/passes/test_torch_memory.py`` and ``bench/memory_check.py``, against PyTorch's
``MemTracker``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from archscope.graph import Graph, Node
from archscope.ops import REGISTRY
from archscope.ops.registry import numel
from archscope.passes.training import grad_flow

DTYPES: Mapping[str, int] = MappingProxyType({"float32": 4, "float16": 2, "bfloat16": 2})
# optimizer state tensors kept per trainable parameter
OPTIMIZERS: Mapping[str, int] = MappingProxyType({"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2})
# temporaries the size of one parameter tensor during the step (single-tensor implementations)
STEP_TEMPORARIES: Mapping[str, int] = MappingProxyType({"sgd": 0, "momentum": 0, "adam": 2, "adamw": 2})

FORWARD, BACKWARD, STEP = "forward", "backward", "optimizer step"


@dataclass(frozen=True)
class MemoryOptions:
    batch: int = 1
    dtype: str = "float32"
    train: bool = False
    optimizer: str = "sgd"

    def __post_init__(self) -> None:
        if self.batch < 1:
            raise ValueError(f"batch must be at least 1, not {self.batch}")
        if self.dtype not in DTYPES:
            raise ValueError(f"unknown dtype `{self.dtype}`: one of {', '.join(DTYPES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer `{self.optimizer}`: one of {', '.join(OPTIMIZERS)}")


@dataclass(frozen=True)
class LayerMemory:
    name: str
    op: str
    output_bytes: int  # its output (and extra outputs) for the batch; 0 for a view or in place
    saved_bytes: int  # what it adds to what backward keeps (a tensor another layer keeps already: 0)
    forward_live_bytes: int  # everything alive while it runs forward
    backward_live_bytes: int | None  # everything alive while it runs backward (None: no backward)


@dataclass(frozen=True)
class Breakdown:
    """The bytes alive at one moment, by kind."""

    weights: int
    gradients: int
    optimizer: int
    activations: int  # layer outputs and what backward keeps (the input batch included)
    temporaries: int  # activation gradients, optimizer step temporaries

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer + self.activations + self.temporaries


@dataclass(frozen=True)
class Memory:
    options: MemoryOptions
    weights_bytes: int  # parameters and buffers
    gradients_bytes: int  # of the trainable parameters (0 at inference)
    optimizer_bytes: int  # optimizer state (0 at inference)
    activations_bytes: int  # inference: the activations' peak; training: what backward keeps
    input_bytes: int
    peak: Breakdown
    peak_layer: str
    peak_phase: str
    layers: tuple[LayerMemory, ...] = field(default=())

    @property
    def peak_bytes(self) -> int:
        return self.peak.total


def inplace_nodes(g: Graph) -> set[Node]:
    """The layers that overwrite their first input: their op declares ``inplace``, that input
    feeds nothing else (nor a network output), comes from a layer (not a network input) whose op
    declares ``overwritable_output`` and has the output's shape. The PyTorch backend builds
    exactly these in place (``build(inplace=True)``, the default)."""
    consumers: dict[Node, int] = {}
    for node in g.nodes:
        for src in node.inputs:
            consumers[src] = consumers.get(src, 0) + 1
    for out in g.outputs:
        if out is not None:
            consumers[out] = consumers.get(out, 0) + 1
    inputs = set(g.inputs)
    return {
        node
        for node in g.nodes
        if REGISTRY[node.op].inplace
        and node.inputs[0] not in inputs
        and node.input_shapes()[0] == node.shape  # a broadcast result does not fit in its first input
        and REGISTRY[node.inputs[0].op].overwritable_output
        and consumers.get(node.inputs[0]) == 1
    }


class _Storage:
    """One allocation; freed when nobody holds it any more."""

    __slots__ = ("holders", "kind", "size")

    def __init__(self, size: int, kind: str):
        self.size = size
        self.kind = kind
        self.holders = 0


class _Ledger:
    def __init__(self, fixed: Breakdown):
        self.fixed = fixed
        self.live = {"activations": 0, "temporaries": 0, "gradients": 0}
        self.best = (-1, fixed, "", "")

    def hold(self, s: _Storage) -> None:
        if s.holders == 0:
            self.live[s.kind] += s.size
        s.holders += 1

    def release(self, s: _Storage) -> None:
        s.holders -= 1
        assert s.holders >= 0
        if s.holders == 0:
            self.live[s.kind] -= s.size

    def add(self, kind: str, size: int) -> None:
        self.live[kind] += size

    def now(self, extra_temporaries: int = 0) -> Breakdown:
        f = self.fixed
        return Breakdown(
            f.weights,
            f.gradients + self.live["gradients"],
            f.optimizer,
            self.live["activations"],
            self.live["temporaries"] + extra_temporaries,
        )

    def mark(self, layer: str, phase: str, extra_temporaries: int = 0) -> int:
        b = self.now(extra_temporaries)
        if b.total > self.best[0]:
            self.best = (b.total, b, layer, phase)
        return b.total


def memory(graph: Graph, options: MemoryOptions) -> Memory:  # noqa: C901 - to become one simulator step per node
    """The memory of one inference pass (``options.train`` false) or one training step of a
    costed, shaped graph (see the module docstring)."""
    width = DTYPES[options.dtype]
    batch = options.batch
    train = options.train
    nodes = graph.nodes
    assert all(n.cost is not None and n.shape is not None for n in nodes), "memory needs a costed graph"

    params = sum(n.cost.params for n in nodes if n.cost is not None)  # (all of them: asserted above)
    buffers = sum(n.cost.buffers for n in nodes if n.cost is not None)
    trainable = sum(n.trainable_params for n in nodes) if train else 0
    weights = (params + buffers) * width
    optimizer = OPTIMIZERS[options.optimizer] * trainable * width if train else 0

    def nbytes(shape: tuple[int, ...], itemsize: int = width) -> int:
        return numel(shape) * batch * itemsize

    # which layers record a backward, and which run it (as the training pass decides)
    requires_grad, reaches = grad_flow(graph)
    if not train:
        requires_grad = set()  # inference records no backward

    in_place = inplace_nodes(graph)
    ledger = _Ledger(Breakdown(weights, 0, optimizer, 0, 0))

    # forward: storages, and how many forward uses each value still has
    storage: dict[tuple[Node, int], _Storage] = {}
    uses: dict[tuple[Node, int], int] = {}
    for node in nodes:
        for i, src in enumerate(node.inputs):
            key = (src, node.port(i))
            uses[key] = uses.get(key, 0) + 1
    outputs = {(out, 0) for out in graph.outputs if out is not None}
    input_bytes = 0
    for node in graph.inputs:
        s = _Storage(nbytes(node.shape or ()), "activations")
        input_bytes += s.size
        storage[(node, 0)] = s
        ledger.hold(s)  # the caller's batch: alive throughout

    peak_activations = ledger.live["activations"]
    kept: dict[Node, list[_Storage]] = {}  # what each layer keeps for its backward
    counted: set[int] = set()  # the kept storages already reported at a layer
    layer_rows: dict[Node, list[int]] = {}
    for node in nodes:
        out_shape = node.shape
        assert out_shape is not None  # a costed graph (asserted above)
        op = REGISTRY[node.op]
        allocated = 0
        srcs = [storage[(src, node.port(i))] for i, src in enumerate(node.inputs)]
        if node in in_place or (node.inputs and op.memory.view(node.attrs, train)):
            main = srcs[0]  # writes into its input, or is a view of it
        else:
            main = _Storage(nbytes(out_shape), "activations")
            allocated += main.size
        ledger.hold(main)
        storage[(node, 0)] = main
        extras = op.extra_outputs(node.attrs)
        for k, (extra, shape) in enumerate(zip(extras, node.extra_shapes, strict=True), start=1):
            if op.memory.view(node.attrs, train):
                s = srcs[0]
            else:
                s = _Storage(nbytes(shape, extra.itemsize), "activations")
                allocated += s.size
            ledger.hold(s)
            storage[(node, k)] = s
        # what backward keeps
        keep: list[_Storage] = []
        if node in requires_grad and op.saves is not None:
            saves = op.saves
            wanted = set(saves.inputs)
            if node.trainable and node.trainable_params > 0:
                wanted.update(saves.inputs_for_weights)
            for i in sorted(wanted):
                if i == 0 and node in in_place and saves.copies_in_place:
                    copy = _Storage(main.size, "activations")
                    allocated += copy.size
                    keep.append(copy)
                elif i < len(srcs):
                    keep.append(srcs[i])
            if saves.output:
                keep.append(main)
            own = sum(numel(out_shape) * batch * b for b in saves.like_output)
            own += saves.per_channel * (node.shape[0] if node.shape else 1) * 4
            if own:
                s = _Storage(own, "activations")
                allocated += own
                keep.append(s)
        for s in keep:
            ledger.hold(s)
        kept[node] = keep
        transient = 0 if node in requires_grad else numel(node.shape) * batch * op.memory.transient(node.attrs)  # type: ignore[arg-type]
        ledger.add("temporaries", transient)
        live = ledger.mark(node.name, FORWARD)
        ledger.add("temporaries", -transient)
        peak_activations = max(peak_activations, ledger.live["activations"])
        new_kept = [s for s in keep if id(s) not in counted]
        counted.update(id(s) for s in new_kept)
        layer_rows[node] = [allocated, sum(s.size for s in new_kept), live]
        # drop the inputs whose last forward use this was
        for i, src in enumerate(node.inputs):
            key = (src, node.port(i))
            uses[key] -= 1
            if uses[key] == 0 and key not in outputs and src not in graph.inputs:
                ledger.release(storage[key])
        # an output nobody reads (an unused extra output, a dead branch) is dropped at once
        for k in range(len(extras) + 1):
            if (node, k) not in uses and (node, k) not in outputs:
                ledger.release(storage[(node, k)])
        if node in requires_grad and node not in reaches:
            for s in kept.pop(node):  # its graph dies with its output: what it kept goes too
                ledger.release(s)

    activations_end = ledger.live["activations"]
    backward_live: dict[Node, int] = {}
    if train:
        grads: dict[Node, _Storage] = {}  # the gradient arriving at each layer's output
        for out in graph.outputs:
            if out is not None and out in requires_grad and out not in grads:
                # the loss (a sum) sends back its gradient expanded from one number: no memory,
                # and an op that passes its gradient on (concat, add) passes that on for free
                grads[out] = _Storage(0, "temporaries")
                ledger.hold(grads[out])
        largest = 0
        for node in reversed(nodes):
            if node not in requires_grad or node not in reaches:
                continue
            op = REGISTRY[node.op]
            grad_out = grads.pop(node, None)  # held until this layer's backward has run
            # input gradients
            for i, src in enumerate(node.inputs):
                if src not in requires_grad or src in grads:
                    if src in grads and src in requires_grad and not op.memory.grad_view:
                        # a second consumer: accumulated into the gradient already there
                        g = _Storage(nbytes(node.input_shapes()[i] or ()), "temporaries")
                        ledger.hold(g)
                        ledger.mark(node.name, BACKWARD)
                        ledger.release(g)
                    continue
                if op.memory.grad_view and grad_out is not None:
                    g = grad_out
                else:
                    g = _Storage(nbytes(node.input_shapes()[i] or ()), "temporaries")
                ledger.hold(g)
                grads[src] = g
            if node.trainable and node.trainable_params > 0:
                ledger.add("gradients", node.trainable_params * width)
                largest = max(largest, node.trainable_params)
            scratch = op.memory.backward_temporaries * nbytes(node.shape)  # type: ignore[arg-type]
            ledger.add("temporaries", scratch)
            backward_live[node] = ledger.mark(node.name, BACKWARD)
            ledger.add("temporaries", -scratch)
            if grad_out is not None:
                ledger.release(grad_out)
            for s in kept.pop(node, []):
                ledger.release(s)
        for g in grads.values():  # gradients of tensors that need none past the inputs
            ledger.release(g)
        step_temp = STEP_TEMPORARIES[options.optimizer] * largest * width
        ledger.mark("", STEP, step_temp)

    _, best, peak_layer, peak_phase = ledger.best
    rows = tuple(
        LayerMemory(node.name, node.op, a, kept_b, live, backward_live.get(node))
        for node, (a, kept_b, live) in layer_rows.items()
    )
    return Memory(
        options,
        weights,
        trainable * width,
        optimizer,
        activations_end if train else peak_activations,
        input_bytes,
        best,
        peak_layer,
        peak_phase,
        rows,
    )
