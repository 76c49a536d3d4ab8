"""Training cost: the MACs of one training step's forward and backward pass, per layer and in total.

Each op declares its backward MACs on its ``OpDef`` (``backward``: the input-gradient and the
weight-gradient MACs); this pass decides which of them autograd pays, as PyTorch does:

- a tensor *requires grad* when a parameter that trains feeds into it: the network's inputs do
  not; a layer's output does when one of its inputs does, or when the layer has parameters and
  is not frozen (``Node.trainable``, set from ``freeze:``/``unfreeze:``);
- a layer runs its backward only when its output reaches a network output (the loss) and
  requires grad; then it computes its input gradient when one of its inputs requires grad,
  and its weight gradient when it trains.

So the layers before the first trainable one compute no gradient at all, and a frozen layer
after one computes its input gradient only. Batch 1; the convention is ``Cost.macs``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from archscope.diagnostics import Collector
from archscope.graph import Graph, Node
from archscope.ops import REGISTRY, OpDef
from archscope.ops.registry import Attrs, Backward, Shape
from archscope.passes.manager import Pass

BackwardRule = Callable[[Attrs, Sequence[Shape], Shape], Backward]


@dataclass(frozen=True)
class LayerTraining:
    forward_macs: int
    backward_input_macs: int
    backward_weight_macs: int

    @property
    def backward_macs(self) -> int:
        return self.backward_input_macs + self.backward_weight_macs


@dataclass(frozen=True)
class Training:
    layers: Mapping[str, LayerTraining]  # by node name, every node of the graph
    forward_macs: int
    backward_input_macs: int
    backward_weight_macs: int
    trains: bool  # some layer has parameters that train

    @property
    def backward_macs(self) -> int:
        return self.backward_input_macs + self.backward_weight_macs


def declared_backward(op: OpDef) -> BackwardRule:
    """The op's own backward rule (every registered op declares one: tests/ops/test_op_facts.py)."""
    assert op.backward is not None, f"`{op.name}` declares no backward"
    return op.backward


def training_pass(graph: Graph, diags: Collector) -> Training | None:
    """The training cost of a fully costed graph; None when its costs are not known."""
    if not graph.complete or any(node.cost is None or node.shape is None for node in graph.nodes):
        return None
    return training_cost(graph)


TRAINING_PASS = Pass("training", training_pass, requires=frozenset({"costs"}))  # it reads each node's cost


def training_cost(graph: Graph, rule: Callable[[OpDef], BackwardRule] = declared_backward) -> Training:
    """The training cost of a costed graph, with each op's backward MACs from ``rule`` (tests pass
    the reference counter's view of them)."""
    requires_grad, reaches = grad_flow(graph)
    trains = any(node.trainable_params > 0 for node in graph.nodes)
    layers: dict[str, LayerTraining] = {}
    fwd = grad_in = grad_w = 0
    for node in graph.nodes:
        assert node.cost is not None and node.shape is not None
        inputs, weights = 0, 0
        if node in requires_grad and node in reaches:
            back = rule(REGISTRY[node.op])(node.attrs, node.known_input_shapes(), node.shape)
            if any(n in requires_grad for n in node.inputs):
                inputs = back.input_macs
            if node.trainable:
                weights = back.weight_macs
        layers[node.name] = LayerTraining(node.cost.macs, inputs, weights)
        fwd += node.cost.macs
        grad_in += inputs
        grad_w += weights
    return Training(MappingProxyType(layers), fwd, grad_in, grad_w, trains)


def grad_flow(graph: Graph) -> tuple[set[Node], set[Node]]:
    """(the layers whose output requires grad, the layers whose output reaches a network output):
    a layer runs its backward only when it is in both (the training cost and the memory model)."""
    requires_grad: set[Node] = set()
    for node in graph.nodes:
        if node.trainable_params > 0 or any(n in requires_grad for n in node.inputs):
            requires_grad.add(node)
    reaches: set[Node] = {out for out in graph.outputs if out is not None}
    for node in reversed(graph.nodes):
        if node in reaches:
            reaches.update(node.inputs)
    return requires_grad, reaches
