"""The pass manager: every analysis is a ``Pass`` in ``PASSES`` that states in code what it
requires; the order is checked, a pass never runs before what it requires, and the on-demand
passes (memory, conventions) run with the options a caller chooses."""

from __future__ import annotations

import pytest
from conftest import analyze_text, net

import archscope
from archscope.diagnostics import Collector
from archscope.elaborate import elaborate
from archscope.lang.loader import load_spec_text
from archscope.overrides import Overrides
from archscope.passes import BY_NAME, DEFAULT, PASSES, PassOrderError, run_pass, run_passes
from archscope.passes.conventions import CONVENTIONS_PASS, ConventionOptions, count
from archscope.passes.costs import COSTS_PASS
from archscope.passes.manager import Pass, check_order
from archscope.passes.memory import MEMORY_PASS, MemoryOptions, Replay, memory
from archscope.passes.training import TRAINING_PASS

LINEAR = net("{op: linear, out: 2}", input="[3]")  # 3 → 2: 8 parameters
CONV_NET = net(
    "{op: conv2d, out: 4, kernel: 3, name: c1}", "{op: relu}", "{op: flatten}", "{op: linear, out: 2, name: fc}"
)


def test_every_pass_states_what_it_requires_and_the_order_meets_it():
    table = {p.name: (sorted(p.requires), p.options, p.on_demand) for p in PASSES}
    assert table == {
        "costs": (["shapes"], None, False),
        "training": (["costs"], None, False),
        "expect": (["costs"], None, False),
        "receptive_field": (["shapes"], None, False),
        "memory": (["costs"], MemoryOptions, True),
        "conventions": (["costs"], ConventionOptions, True),
    }
    check_order(PASSES)
    assert [p.name for p in DEFAULT] == ["costs", "training", "expect", "receptive_field"]
    assert BY_NAME["memory"] is MEMORY_PASS


def test_a_pass_listed_before_what_it_requires_is_refused_with_both_names():
    with pytest.raises(PassOrderError, match=r"pass `training` requires `costs`, which no pass before it provides"):
        check_order((TRAINING_PASS, COSTS_PASS))
    orphan = Pass("orphan", lambda _graph, _diags: None, requires=frozenset({"costs", "nothing"}))
    with pytest.raises(PassOrderError, match=r"pass `orphan` requires `nothing`, which no pass"):
        check_order((*PASSES, orphan))


def _graph(text: str):
    diags = Collector()
    return elaborate(load_spec_text(text, "t.yaml"), Overrides(), diags), diags


def test_a_pass_whose_requirement_has_not_run_on_the_graph_is_an_internal_error():
    graph, diags = _graph(LINEAR)
    assert graph.provided == {"shapes"}
    with pytest.raises(PassOrderError, match=r"pass `memory` requires `costs`, which has not run on graph `t`"):
        run_pass(MEMORY_PASS, graph, diags)
    run_pass(COSTS_PASS, graph, diags)
    assert graph.provided == {"shapes", "costs"}
    assert run_pass(MEMORY_PASS, graph, diags).peak_bytes == (8 + 3 + 2) * 4  # weights, input, output


def test_run_passes_runs_the_default_passes_and_records_them_on_the_graph():
    graph, diags = _graph(LINEAR)
    assert list(run_passes(graph, diags)) == ["costs", "training", "expect", "receptive_field"]
    assert graph.provided == {"shapes", "costs", "training", "expect", "receptive_field"}


def test_an_on_demand_pass_runs_with_the_options_asked_for_or_its_defaults():
    analysis = analyze_text(CONV_NET)
    assert "memory" not in analysis.passes  # not run by analyze
    assert analysis.run_pass(MEMORY_PASS) == memory(analysis.graph, MemoryOptions())
    options = MemoryOptions(batch=4, train=True, optimizer="adam")
    trained = analysis.run_pass(MEMORY_PASS, options)
    assert trained == memory(analysis.graph, options) and trained.optimizer_bytes == 2 * 402 * 4
    counted = analysis.run_pass(CONVENTIONS_PASS, ConventionOptions("torchinfo"))
    assert counted == count(analysis.graph, "torchinfo") and counted.convention.name == "torchinfo"
    assert analysis.run_pass(CONVENTIONS_PASS).total == analysis.report.totals.macs  # the default: torchvision


def test_options_of_the_wrong_type_and_unknown_names_are_refused():
    analysis = analyze_text(LINEAR)
    with pytest.raises(TypeError, match=r"pass `memory` takes MemoryOptions, not a ConventionOptions"):
        analysis.run_pass(MEMORY_PASS, ConventionOptions())
    with pytest.raises(TypeError, match=r"pass `costs` takes no options, not a MemoryOptions"):
        analysis.run_pass(COSTS_PASS, MemoryOptions())
    with pytest.raises(ValueError, match=r"unknown convention `flops`: one of torchvision, fvcore"):
        ConventionOptions("flops")
    broken = analyze_text("input: [")
    with pytest.raises(ValueError, match=r"has no graph to run pass `memory` on"):
        broken.run_pass(MEMORY_PASS)


class _Counting(Replay):
    """The replay, counting the steps it takes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.forward: list[str] = []
        self.backward: list[str] = []

    def step(self, node):
        self.forward.append(node.name)
        super().step(node)

    def backward_step(self, node):
        self.backward.append(node.name)
        super().backward_step(node)


@pytest.mark.parametrize(
    ("freeze", "train", "backward"),
    [
        ((), False, []),
        ((), True, ["fc", "flatten_1", "relu_1", "c1"]),
        (("c1",), True, ["fc"]),  # nothing before `fc` requires grad: no backward there
    ],
)
def test_the_replay_steps_each_node_forward_once_and_backward_where_a_gradient_flows(freeze, train, backward):
    analysis = archscope.analyze("t.yaml", text=CONV_NET, freeze=freeze)
    replay = _Counting(analysis.graph, MemoryOptions(train=train))
    assert replay.run() == memory(analysis.graph, MemoryOptions(train=train))
    assert replay.forward == ["c1", "relu_1", "flatten_1", "fc"]
    assert replay.backward == backward
