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

from archscope.diagnostics import Collector
from archscope.graph import Graph, Node
from archscope.ops import REGISTRY, OpDef
from archscope.ops.registry import Shape, numel
from archscope.passes.manager import Pass
from archscope.passes.memory_ledger import Breakdown, Ledger, Storage
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


Value = tuple[Node, int]  # one output of a node: port 0 is its main output, k its op's extra output k - 1


def _shape(node: Node) -> Shape:
    assert node.shape is not None, "memory needs a costed graph"
    return node.shape


class Replay:
    """One inference pass or training step replayed over a costed graph, in the shape of
    torch.fx's ``Interpreter``: :meth:`run` calls :meth:`step` for each node in execution order
    and, in training, :meth:`backward_step` for each in reverse, then the optimizer step. Each
    step allocates and frees :class:`Storage` on the ledger and marks the total alive."""

    def __init__(self, graph: Graph, options: MemoryOptions):
        assert all(n.cost is not None and n.shape is not None for n in graph.nodes), "memory needs a costed graph"
        self.graph = graph
        self.options = options
        self.width = DTYPES[options.dtype]
        self.train = options.train
        params = sum(n.cost.params for n in graph.nodes if n.cost is not None)  # (all of them: asserted above)
        buffers = sum(n.cost.buffers for n in graph.nodes if n.cost is not None)
        self.trainable = sum(n.trainable_params for n in graph.nodes) if options.train else 0
        self.weights = (params + buffers) * self.width
        self.optimizer = OPTIMIZERS[options.optimizer] * self.trainable * self.width if options.train else 0
        # which layers record a backward, and which run it (as the training pass decides)
        requires_grad, self.reaches = grad_flow(graph)
        self.requires_grad = requires_grad if options.train else set()  # inference records no backward
        self.in_place = inplace_nodes(graph)
        self.ledger = Ledger(Breakdown(self.weights, 0, self.optimizer, 0, 0))
        self.storage: dict[Value, Storage] = {}
        self.uses = _forward_uses(graph)  # how many forward uses each value still has
        self.outputs: set[Value] = {(out, 0) for out in graph.outputs if out is not None}
        self.kept: dict[Node, list[Storage]] = {}  # what each layer keeps for its backward
        self.counted: set[int] = set()  # the kept storages already reported at a layer
        self.rows: dict[Node, tuple[int, int, int]] = {}  # allocated, newly kept, live while it runs
        self.backward_live: dict[Node, int] = {}
        self.grads: dict[Node, Storage] = {}  # the gradient arriving at each layer's output
        self.largest = 0  # the most trainable parameters of one layer (the optimizer step's temporaries)
        self.input_bytes = 0
        self.peak_activations = 0

    def nbytes(self, shape: Shape, itemsize: int | None = None) -> int:
        return numel(shape) * self.options.batch * (self.width if itemsize is None else itemsize)

    def run(self) -> Memory:
        for node in self.graph.inputs:
            s = Storage(self.nbytes(node.shape or ()), "activations")
            self.input_bytes += s.size
            self.storage[(node, 0)] = s
            self.ledger.hold(s)  # the caller's batch: alive throughout
        self.peak_activations = self.ledger.live["activations"]
        for node in self.graph.nodes:
            self.step(node)
        activations_end = self.ledger.live["activations"]
        if self.train:
            self.start_backward()
            for node in reversed(self.graph.nodes):
                if node in self.requires_grad and node in self.reaches:
                    self.backward_step(node)
            self.optimizer_step()
        return self.result(activations_end if self.train else self.peak_activations)

    # -- forward ---------------------------------------------------------------------------

    def step(self, node: Node) -> None:
        """Run ``node`` forward: allocate its outputs and what it keeps, mark, free what dies."""
        op = REGISTRY[node.op]
        srcs = [self.storage[(src, node.port(i))] for i, src in enumerate(node.inputs)]
        main, allocated = self.allocate_outputs(node, op, srcs)
        keep, copied = self.keep_for_backward(node, op, srcs, main)
        for s in keep:
            self.ledger.hold(s)
        self.kept[node] = keep
        transient = 0 if node in self.requires_grad else self.nbytes(_shape(node), op.memory.transient(node.attrs))
        if node not in self.requires_grad and op.memory.transient_values is not None:
            values = op.memory.transient_values(node.attrs, node.known_input_shapes(), _shape(node))
            transient += self.nbytes((values,), 4)
        self.ledger.add("temporaries", transient)
        live = self.ledger.mark(node.name, FORWARD)
        self.ledger.add("temporaries", -transient)
        self.peak_activations = max(self.peak_activations, self.ledger.live["activations"])
        new_kept = [s for s in keep if id(s) not in self.counted]
        self.counted.update(id(s) for s in new_kept)
        self.rows[node] = (allocated + copied, sum(s.size for s in new_kept), live)
        self.free_after(node, len(op.extra_outputs(node.attrs)))

    def allocate_outputs(self, node: Node, op: OpDef, srcs: list[Storage]) -> tuple[Storage, int]:
        """Its main output and extra outputs (new, or its first input's storage when it runs in
        place or is a view), held; the main output and the bytes allocated."""
        view = op.memory.view(node.attrs, self.train)
        allocated = 0
        if node in self.in_place or (node.inputs and view):
            main = srcs[0]  # writes into its input, or is a view of it
        else:
            main = Storage(self.nbytes(_shape(node)), "activations")
            allocated += main.size
        self.ledger.hold(main)
        self.storage[(node, 0)] = main
        extras = op.extra_outputs(node.attrs)
        for k, (extra, shape) in enumerate(zip(extras, node.extra_shapes, strict=True), start=1):
            if view:
                s = srcs[0]
            else:
                s = Storage(self.nbytes(shape, extra.itemsize), "activations")
                allocated += s.size
            self.ledger.hold(s)
            self.storage[(node, k)] = s
        return main, allocated

    def keep_for_backward(self, node: Node, op: OpDef, srcs: list[Storage], main: Storage) -> tuple[list[Storage], int]:
        """What autograd keeps of ``node`` for its backward (its op's ``Saves``), and the bytes
        allocated for it (a copy of an input overwritten in place, statistics, masks)."""
        if node not in self.requires_grad or op.saves is None:
            return [], 0
        saves = op.saves
        wanted = set(saves.inputs)
        if node.trainable and node.trainable_params > 0:
            wanted.update(saves.inputs_for_weights)
        keep: list[Storage] = []
        allocated = 0
        for i in sorted(wanted):
            if i == 0 and node in self.in_place and saves.copies_in_place:
                copy = Storage(main.size, "activations")
                allocated += copy.size
                keep.append(copy)
            elif i < len(srcs):
                keep.append(srcs[i])
        if saves.output:
            keep.append(main)
        own = sum(self.nbytes(_shape(node), b) for b in saves.like_output)
        own += saves.per_channel * (node.shape[0] if node.shape else 1) * 4
        if saves.values is not None:
            own += self.nbytes((saves.values(node.attrs, node.known_input_shapes(), _shape(node)),), 4)
        if own:
            keep.append(Storage(own, "activations"))
            allocated += own
        return keep, allocated

    def free_after(self, node: Node, extra_outputs: int) -> None:
        """Free the inputs whose last forward use ``node`` was, its outputs nobody reads, and
        what it kept when its output reaches no network output."""
        for i, src in enumerate(node.inputs):
            key = (src, node.port(i))
            self.uses[key] -= 1
            if self.uses[key] == 0 and key not in self.outputs and src not in self.graph.inputs:
                self.ledger.release(self.storage[key])
        # an output nobody reads (an unused extra output, a dead branch) is dropped at once
        for k in range(extra_outputs + 1):
            if (node, k) not in self.uses and (node, k) not in self.outputs:
                self.ledger.release(self.storage[(node, k)])
        if node in self.requires_grad and node not in self.reaches:
            for s in self.kept.pop(node):  # its graph dies with its output: what it kept goes too
                self.ledger.release(s)

    # -- backward --------------------------------------------------------------------------

    def start_backward(self) -> None:
        """The loss's gradient at each network output that requires grad."""
        for out in self.graph.outputs:
            if out is not None and out in self.requires_grad and out not in self.grads:
                # the loss (a sum) sends back its gradient expanded from one number: no memory,
                # and an op that passes its gradient on (concat, add) passes that on for free
                self.grads[out] = Storage(0, "temporaries")
                self.ledger.hold(self.grads[out])

    def backward_step(self, node: Node) -> None:
        """Run ``node``'s backward: its input gradients, its parameters' gradient, its scratch; then
        free its output's gradient and what it kept."""
        op = REGISTRY[node.op]
        grad_out = self.grads.pop(node, None)  # held until this layer's backward has run
        for i, src in enumerate(node.inputs):
            self.input_gradient(node, op, i, src, grad_out)
        if node.trainable and node.trainable_params > 0:
            self.ledger.add("gradients", node.trainable_params * self.width)
            self.largest = max(self.largest, node.trainable_params)
        scratch = op.memory.backward_temporaries * self.nbytes(_shape(node))
        self.ledger.add("temporaries", scratch)
        self.backward_live[node] = self.ledger.mark(node.name, BACKWARD)
        self.ledger.add("temporaries", -scratch)
        if grad_out is not None:
            self.ledger.release(grad_out)
        for s in self.kept.pop(node, []):
            self.ledger.release(s)

    def input_gradient(self, node: Node, op: OpDef, i: int, src: Node, grad_out: Storage | None) -> None:
        """The gradient ``node`` sends to its input ``i`` (``src``): a new tensor, its own output's
        gradient passed on, or a sum into the gradient a later consumer already sent."""
        if src not in self.requires_grad or src in self.grads:
            if src in self.grads and src in self.requires_grad and not op.memory.grad_view:
                # a second consumer: accumulated into the gradient already there
                g = Storage(self.nbytes(node.input_shapes()[i] or ()), "temporaries")
                self.ledger.hold(g)
                self.ledger.mark(node.name, BACKWARD)
                self.ledger.release(g)
            return
        if op.memory.grad_view and grad_out is not None:
            g = grad_out
        else:
            g = Storage(self.nbytes(node.input_shapes()[i] or ()), "temporaries")
        self.ledger.hold(g)
        self.grads[src] = g

    def optimizer_step(self) -> None:
        for g in self.grads.values():  # gradients of tensors that need none past the inputs
            self.ledger.release(g)
        step_temp = STEP_TEMPORARIES[self.options.optimizer] * self.largest * self.width
        self.ledger.mark("", STEP, step_temp)

    # -- the result ------------------------------------------------------------------------

    def result(self, activations: int) -> Memory:
        _, best, peak_layer, peak_phase = self.ledger.best
        rows = tuple(
            LayerMemory(node.name, node.op, allocated, kept, live, self.backward_live.get(node))
            for node, (allocated, kept, live) in self.rows.items()
        )
        return Memory(
            self.options,
            self.weights,
            self.trainable * self.width,
            self.optimizer,
            activations,
            self.input_bytes,
            best,
            peak_layer,
            peak_phase,
            rows,
        )


def _forward_uses(graph: Graph) -> dict[Value, int]:
    uses: dict[Value, int] = {}
    for node in graph.nodes:
        for i, src in enumerate(node.inputs):
            key = (src, node.port(i))
            uses[key] = uses.get(key, 0) + 1
    return uses


def memory(graph: Graph, options: MemoryOptions) -> Memory:
    """The memory of one inference pass (``options.train`` false) or one training step of a
    costed, shaped graph (see the module docstring)."""
    return Replay(graph, options).run()


def memory_pass(graph: Graph, diags: Collector, options: MemoryOptions) -> Memory:
    """The registered pass: :func:`memory` (it reports nothing)."""
    return memory(graph, options)


# on demand: a caller asks for the batch, dtype and step it wants (`archscope memory`, sweeps, bench)
MEMORY_PASS = Pass("memory", memory_pass, requires=frozenset({"costs"}), options=MemoryOptions, on_demand=True)
