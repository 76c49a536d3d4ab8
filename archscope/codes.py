"""Every diagnostic code archscope emits: one table, used by the diagnostics, `archscope explain`
and the README.

Each entry says what the code means, why it matters, a minimal spec that triggers it, and the
fix (as ruff's rule pages do). ``tests/cli/test_explain.py`` analyses every example and checks that it
gives its code and that the fixed spec does not, so an explanation cannot drift from the checker.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    summary: str  # one line: what the README table and `archscope explain --list` show
    meaning: str  # what it means and why it matters
    example: str  # a minimal spec that triggers it (or, for E000, a command line)
    fix: str  # how to fix it, in words
    fixed: str | None = None  # the example, fixed (None: the fix is not a spec, e.g. E000)
    subject: str = "spec"  # what the example is: a `spec`, a `command` line, or a `sweep file`

    @property
    def severity(self) -> str:
        return "warning" if self.code.startswith("W") else "error"


def _net(*layers: str, input_: str = "[3, 8, 8]", extra: str = "") -> str:
    body = "".join(f"  - {layer}\n" for layer in layers)
    return f"input: {input_}\n{extra}layers:\n{body}"


TABLE: tuple[Code, ...] = (
    Code(
        "E000",
        "the input cannot be read: no such file or bundled spec, not a file, not UTF-8",
        "The path or name on the command line is not a readable spec: no such file and no bundled spec of "
        "that name, a folder where a file was expected, a device or pipe, or bytes that are not UTF-8. "
        "The command exits with 2 (a usage error), not 1.",
        "archscope summary resnet_50",
        "Check the spelling (`archscope list` shows the bundled names; the message suggests the closest), "
        "or give the path of a .yaml file.",
        subject="command",
    ),
    Code(
        "E001",
        "the file is empty or is not valid YAML",
        "The YAML parser refused the file: a missing colon, a tab in indentation, an unclosed bracket, "
        "several documents in one file, an alias before its anchor. The location is the parser's.",
        "input: [3, 8, 8\nlayers: [relu]\n",
        "Close the bracket, quote the value, or fix the indentation at the reported line.",
        "input: [3, 8, 8]\nlayers: [relu]\n",
    ),
    Code(
        "E002",
        "a mapping has the same key twice",
        "YAML parsers silently keep the last of two equal keys, so one of the two values is ignored "
        "without a word. archscope refuses the second one instead.",
        _net("{op: conv2d, out: 8, kernel: 3, kernel: 5}"),
        "Keep one of the two keys.",
        _net("{op: conv2d, out: 8, kernel: 3}"),
    ),
    Code(
        "E003",
        "unknown key",
        "A key that the spec language, the op or the block does not define: usually a misspelling. "
        "It would otherwise be ignored and the layer built with a default. The message suggests the "
        "closest known key.",
        _net("{op: conv2d, out: 8, kernal: 3}"),
        "Spell the key as `archscope ops` lists it (or as the block's `args:` define it).",
        _net("{op: conv2d, out: 8, kernel: 3}"),
    ),
    Code(
        "E004",
        "a value has the wrong type or is out of range",
        "An attribute got a value it cannot take: a word where a number is needed, a negative size, a "
        "list of the wrong length, a number too large to be a size. Or a name is not a valid name (letters, "
        "digits, `_` or `-`, not starting with a digit): the file's name too, when the spec has no `name:`.",
        _net("{op: conv2d, out: 8, kernel: -3}"),
        "Give a value of the type and range the message states under `expected`.",
        _net("{op: conv2d, out: 8, kernel: 3}"),
    ),
    Code(
        "E005",
        "a required key or argument is missing",
        "An op attribute or block argument without a default was not given, or the spec lacks `input:` or `layers:`.",
        _net("{op: conv2d, kernel: 3}"),
        "Add the missing key; `archscope ops` marks the required attributes.",
        _net("{op: conv2d, out: 8, kernel: 3}"),
    ),
    Code(
        "E006",
        "unknown op or block",
        "`op:` names neither a registered op nor a block of this spec. The message suggests the closest name.",
        _net("{op: conv2D, out: 8, kernel: 3}"),
        "Use an op from `archscope ops`, or define the block under `blocks:`.",
        _net("{op: conv2d, out: 8, kernel: 3}"),
    ),
    Code(
        "E007",
        "two layers have the same name",
        "Names are how `in:` references and reports find a layer, so they must be unique within a scope "
        "(the network, or one block).",
        _net("{op: conv2d, name: a, out: 8, kernel: 3}", "{op: relu, name: a}"),
        "Rename one of them.",
        _net("{op: conv2d, name: a, out: 8, kernel: 3}", "{op: relu, name: b}"),
    ),
    Code(
        "E008",
        "a reference names no layer",
        "An `in:` (or `output:`, `outputs:`) names a layer or input that does not exist in its scope, or "
        "an output that a multi-output layer does not have (`split_1.7`). The message suggests the closest name.",
        _net("{op: conv2d, name: a, out: 3, kernel: 1}", "{op: add, in: [a, b]}"),
        "Name an existing layer, `input` (or a name of `inputs:`), a dotted path into a block instance "
        "(`stage1.0.conv1`), or one output of a multi-output layer (`split_1.1`, `pool.indices`).",
        _net("{op: conv2d, name: a, out: 3, kernel: 1}", "{op: add, in: [a, input]}"),
    ),
    Code(
        "E009",
        "layers form a cycle",
        "`in:` references go round in a circle, so no layer of the cycle can be computed first. A "
        "network is a directed acyclic graph.",
        _net("{op: relu, name: a, in: b}", "{op: relu, name: b, in: a}"),
        "Break the cycle: one of the layers must take its input from outside it.",
        _net("{op: relu, name: a, in: input}", "{op: relu, name: b, in: a}"),
    ),
    Code(
        "E010",
        "an expression cannot be evaluated",
        "A string value is evaluated as an expression over `params`, block arguments, `in_channels` and "
        "`i`. It names an unknown variable, divides by zero, or uses something the safe evaluator does "
        "not allow (no calls but `ch`, `rep`, `min`, `max`, …).",
        _net("{op: conv2d, out: width * 2, kernel: 3}"),
        "Define the variable under `params:` (or as a block argument), or fix the expression.",
        _net("{op: conv2d, out: width * 2, kernel: 3}", extra="params: {width: 4}\n"),
    ),
    Code(
        "E011",
        "the spec exceeds a safety limit (nesting, size, aliases, layers)",
        "archscope refuses input that would take unbounded time or memory: nesting deeper than 64 levels, "
        "aliases that expand to more than 1,000,000 nodes (a 'billion laughs'), lists of values "
        "evaluated to more than 1,000,000 items in all (an aliased list counts each time a layer or "
        "block instance uses it), files over 64 MiB, graphs over 10,000 layers (refused as soon as a "
        "count or repeat shows it, before building), files of more than 10 YAML nodes per allowed "
        "layer (100,000) and `freeze:`/`unfreeze:` globs that compare more than 1,000,000 layer names "
        "in all. It guards a CI job that lints untrusted pull requests: at these limits every "
        "file under 1 MB is accepted or refused within 2 s of CPU. ResNet-1202 has 4,210 layers; a larger "
        "graph needs `--max-layers N` (or `max-layers` in `[tool.archscope]`).",
        "input: [3]\nblocks:\n  b:\n    layers:\n      - {op: relu, n: 1000}\nlayers:\n  - {op: b, n: 1000}\n",
        "Nothing a real network needs comes near these limits: look for a runaway repeat count or alias.",
        "input: [3]\nblocks:\n  b:\n    layers:\n      - {op: relu, n: 10}\nlayers:\n  - {op: b, n: 10}\n",
    ),
    Code(
        "E012",
        "`extends` cannot be resolved",
        "`extends:` names the spec this one builds on: a bundled name, or a relative `.yaml` path that "
        "resolves (links followed) inside this spec's folder, or inside the folder given by "
        "`--extends-root` or `extends-root` in `[tool.archscope]`. It names nothing, leaves those "
        "folders (an absolute path, a `..`, a link outward), names a file that is not an archscope spec "
        "(refused without showing its content), or the chain of `extends` loops. A sweep file's `spec:` is "
        "confined the same way, to the sweep file's folder; and `archscope lint DIR` refuses a file in the "
        "folder that is a link leaving it, without reading its target.",
        "extends: resnet_5O\n",
        "Name a bundled spec (`archscope list`) or a file beside this one.",
        "extends: resnet50\n",
    ),
    Code(
        "E013",
        "layer edits (`replace`, `insert_before`, `insert_after`, `remove`) cannot apply",
        "The edit keys change the `layers:` a spec inherits through `extends:`. They need a parent, and "
        "they cannot be mixed with a `layers:` of the child's own (which replaces the parent's list "
        "outright); one layer cannot be both removed and replaced.",
        "extends: resnet50\nlayers: [relu]\nremove: [fc]\n",
        "Edit the parent's layers or restate `layers:`, not both; give edits only under `extends:`.",
        "extends: resnet50\nremove: [fc]\n",
    ),
    Code(
        "E014",
        "a sweep file is malformed: unknown key, or a value of the wrong type",
        "A sweep file (`archscope sweep FILE.yaml`) is a mapping of `spec`, `grid`, `random`, `seed`, "
        "`sort`, `pareto` and `train`; a key it does not know, or a value of the "
        "wrong type (`random` not a positive integer, `pareto` not two metric names, `sort` not a "
        "metric), is refused with its place in the file rather than ignored.",
        "spec: resnet50\ngird: {width: [0.5, 1.0]}\n",
        "Spell the key as `archscope sweep --help` lists it (the message suggests the closest); give "
        "each value the type the message names.",
        "spec: resnet50\ngrid: {width: [0.5, 1.0]}\n",
        subject="sweep file",
    ),
    Code(
        "E015",
        "a sweep axis cannot apply: no such axis or parameter, or a bad value or range",
        "A sweep axis is `width`, `depth`, `resolution`, `batch` or a key of the spec's `params:`; its "
        "values are a list, one value, or a range `LO:HI` (drawn from with `random`) or `LO:HI:STEP` "
        "(every step, in a grid). An axis that is none of these, a width that is not positive, a "
        "resolution or batch that is not a positive integer, or a range with LO > HI is refused before "
        "any variant is analysed.",
        "spec: resnet50\ngrid: {width: [0.5, -1]}\n",
        "Name an axis the spec has (`archscope summary SPEC` shows its `params:`) and give it values in range.",
        "spec: resnet50\ngrid: {width: [0.5, 1]}\n",
        subject="sweep file",
    ),
    Code(
        "E016",
        "a layer that is skipped (its `if:` is false) is read, and no `else:` says what stands in for it",
        "A layer whose `if:` is false is left out of the network. A layer that reads it (by `in:`, by "
        "following it in the list, or as a block's or the network's output) then needs something in its "
        "place, and the skipped layer must say what with `else:` (a layer or input of the same scope, "
        "resolved as an `in:` entry is). archscope used to put its first input there without a word, so "
        "a three-way sum whose `if:` was meant for one branch became that branch alone in every block "
        "where the condition was false, and every number (and `verify`) still agreed.",
        _net(
            "{op: conv2d, name: a, out: 3, kernel: 1}",
            "{op: add, name: sum, in: [a, input], if: false}",
            "relu",
        ),
        "Add `else: NAME` to the skipped layer, naming what stands in for it (usually its first input), or "
        "read a layer that is always built.",
        _net(
            "{op: conv2d, name: a, out: 3, kernel: 1}",
            "{op: add, name: sum, in: [a, input], if: false, else: a}",
            "relu",
        ),
    ),
    Code(
        "E101",
        "output size is zero or negative",
        "A layer's output size came out below 1: the input is too small for what is applied to it. A "
        "transposed convolution gives O = (W − 1)·S − 2P + K + output_padding, so a padding larger than "
        "the kernel makes it negative.",
        _net("{op: conv_transpose2d, out: 8, kernel: 1, padding: 1}", input_="[3, 1, 1]"),
        "Use a larger input, less padding, or fewer down-sampling layers.",
        _net("{op: conv_transpose2d, out: 8, kernel: 1}", input_="[3, 1, 1]"),
    ),
    Code(
        "E102",
        "kernel is larger than the padded input",
        "The window does not fit the input even once: PyTorch raises an error at run time; archscope says "
        "so before anything is built.",
        _net("{op: conv2d, out: 8, kernel: 5}", input_="[3, 4, 4]"),
        "Pad the input (`padding: 2` keeps the size for a 5×5 kernel) or use a smaller kernel.",
        _net("{op: conv2d, out: 8, kernel: 5, padding: 2}", input_="[3, 4, 4]"),
    ),
    Code(
        "E103",
        "`groups` does not divide the channels",
        "A grouped convolution splits input and output channels into `groups` equal parts, so both counts "
        "must be multiples of `groups` (depthwise: `groups` = input channels). `multihead_attention` splits its "
        "features among its `heads` the same way.",
        _net("{op: conv2d, out: 8, kernel: 3, groups: 2}"),
        "Choose `groups` dividing both channel counts.",
        _net("{op: conv2d, out: 9, kernel: 3, groups: 3}"),
    ),
    Code(
        "E104",
        "shapes do not match at `add` / `mul`",
        "A residual `add` needs all its inputs of one shape; `mul` needs shapes that broadcast. Usually a "
        "shortcut lacks the projection that changes its channels or stride. `matmul` and "
        "`scaled_dot_product_attention` need matching inner sizes (K columns by K rows; keys and values "
        "of one length) and leading dims that broadcast.",
        _net("{op: conv2d, name: a, out: 4, kernel: 1}", "{op: add, in: [input, a]}"),
        "Project the shortcut (a 1×1 conv with the same `out` and `stride`) or fix the branch's channels.",
        _net("{op: conv2d, name: a, out: 3, kernel: 1}", "{op: add, in: [input, a]}"),
    ),
    Code(
        "E105",
        "shapes do not match at `concat`",
        "`concat` joins its inputs along one dimension (0 = channels); every other size must agree.",
        _net("{op: maxpool2d, name: p, kernel: 2}", "{op: concat, in: [input, p]}"),
        "Make the spatial sizes agree (padding, stride) before concatenating.",
        _net("{op: maxpool2d, name: p, kernel: 3, stride: 1, padding: 1}", "{op: concat, in: [input, p]}"),
    ),
    Code(
        "E106",
        "input has the wrong rank for this op",
        "The op expects another number of dimensions than it gets: a `linear` on a feature map (flatten "
        "first), a 2-D conv on a 1-D signal. Shapes are written without the batch dimension.",
        _net("{op: linear, out: 10}"),
        "Add the layer that changes the rank (`flatten`, `global_avgpool`) or use the op of the right rank.",
        _net("flatten", "{op: linear, out: 10}"),
    ),
    Code(
        "E107",
        "invalid combination of attributes for this input",
        "The attributes are each valid but not together, or not for this input: pooling padding larger "
        "than half the kernel, `max_unpool2d` whose switches do not come from a `maxpool2d` with "
        "`return_indices: true`.",
        _net("{op: maxpool2d, kernel: 2, padding: 2}"),
        "Follow the rule in the message (PyTorch enforces the same one at run time).",
        _net("{op: maxpool2d, kernel: 2, padding: 1}"),
    ),
    Code(
        "E108",
        "wrong number of inputs",
        "An op got more or fewer `in:` inputs than it takes: `add` and `concat` need two or more, `mul` "
        "exactly two, most ops one. A block takes one input, or as many as its `inputs:` names.",
        _net("{op: add, in: [input]}"),
        "Give the op as many inputs as it takes.",
        _net("{op: relu, name: a}", "{op: add, in: [input, a]}"),
    ),
    Code(
        "E201",
        "a number in `expect:` does not match the computed one",
        "`expect:` pins the published parameter count, MACs, buffers or output shape of a spec; a change "
        "that alters them is caught by `archscope lint`.",
        _net("{op: conv2d, out: 8, kernel: 3}", extra="expect: {params: 200}\n"),
        "Fix the spec if the published number is right; update `expect:` if the change was intended.",
        _net("{op: conv2d, out: 8, kernel: 3}", extra="expect: {params: 224}\n"),
    ),
    Code(
        "E301",
        "the imported network uses a module or operation that has no archscope op",
        "`archscope import` maps every module and every call in the source (a PyTorch module's forward, an "
        "ONNX node, an Ultralytics row) to an archscope op. One with no equivalent stops the import: counting "
        "it as zero would make every total silently wrong (the most common complaint about FLOP counters). "
        "Every such part is listed in one run, each with its place (module path, node or file:line:col) and "
        "the nearest archscope op.",
        "archscope import py:mymodels:net_with_fft -o net.yaml",
        "Replace the part with ops archscope has (`archscope list --ops`), register a new op in its family "
        "file under archscope/ops/, or import the sub-network that stops before it.",
        subject="import",
    ),
    Code(
        "E302",
        "the source cannot be traced into a graph",
        "A PyTorch module is traced symbolically (torch.fx): control flow that depends on tensor values "
        "(`if x.sum() > 0`), Python iteration over a tensor or a call into non-PyTorch code cannot be "
        "traced, and a guess would be a wrong graph. The message names the module and the line of its "
        "forward where tracing stopped.",
        "archscope import py:mymodels:net_with_data_dependent_if -o net.yaml",
        "Make the branch depend on constructor arguments rather than on tensor values, or import the "
        "sub-module that has no such branch.",
        subject="import",
    ),
    Code(
        "E303",
        "the file holds no architecture archscope can read",
        "A `state_dict` (a dictionary of tensors) has weights but no architecture; a pickled object that is "
        "not an `nn.Module`, an ONNX file that onnx cannot parse or check, or a file of another kind cannot "
        "be imported either. The message says what the file holds.",
        "archscope import weights_only.pt -o net.yaml",
        "Import the code that builds the network (`py:package.module:factory`) and pass the weights to "
        "`--verify`, or save the whole model (`torch.save(model)`) or export it to ONNX.",
        subject="import",
    ),
    Code(
        "E304",
        "reading this file would run code: it needs `--trust`",
        "A file written by `torch.save(model)` is a pickle: loading it runs whatever code the file names, so "
        "a file from elsewhere can take over the machine. archscope loads it only with `--trust`, the user's "
        "explicit consent; without it, it reads the file's weights-only parts and says what it found.",
        "archscope import model.pt -o net.yaml",
        "Pass `--trust` if you made the file or trust its author, or import the code that builds the network.",
        subject="import",
    ),
    Code(
        "W101",
        "the stride does not tile the input: the last rows/columns are dropped",
        "floor((W − K + 2P)/S) threw away input rows or columns that no window reaches. Sometimes that is "
        "faithful to the paper (AlexNet's first conv on 224); often it is a padding mistake.",
        _net("{op: conv2d, out: 8, kernel: 3, stride: 2}", input_="[3, 8, 8]"),
        "Pad so that the windows cover the input (here `padding: 1`), or accept it where the original "
        "network does the same (`lint --strict` fails on warnings).",
        _net("{op: conv2d, out: 8, kernel: 3, stride: 2, padding: 1}", input_="[3, 8, 8]"),
    ),
    Code(
        "W102",
        "a layer's output is never used",
        "A layer that no other layer takes as input and that is not the output: a branch that was meant "
        "to be merged, or a misspelt `in:`. It costs params and MACs in the totals all the same.",
        _net("{op: conv2d, name: side, out: 8, kernel: 1}", "{op: relu, in: input}"),
        "Use the layer (merge it, or make it the output) or remove it.",
        _net("{op: conv2d, name: side, out: 8, kernel: 1}", "{op: relu, in: side}"),
    ),
    Code(
        "W103",
        "a freeze or unfreeze pattern matches no layer",
        "A `freeze:`/`unfreeze:` pattern (or `--freeze`/`--unfreeze`) names no layer, block instance or "
        "repeat group: usually a misspelt name, so the layer you meant still trains (or stays frozen). "
        "Every layer starts trainable; all `freeze` patterns apply, then all `unfreeze` patterns. The "
        "message suggests the closest name.",
        _net("{op: conv2d, name: conv1, out: 8, kernel: 3}", extra="freeze: [conv]\n"),
        "Spell the name as `archscope summary` lists it; a block instance (`layer1`) or a glob "
        '(`layer4.*`, `"*"`, quoted: a bare `*` is YAML syntax) covers every layer inside it.',
        _net("{op: conv2d, name: conv1, out: 8, kernel: 3}", extra="freeze: [conv1]\n"),
    ),
    Code(
        "W104",
        "a `width` or `depth` override changes nothing: the spec never calls `ch()` or `rep()`",
        "`width` and `depth` (a sweep's axes, `Overrides(width=…)`) replace the spec's `scale.width` and "
        "`scale.depth`, which act only through `ch(c)` (channels × width, rounded to the divisor) and "
        "`rep(n)` (repeats × depth, rounded up). A spec whose channels and repeats are plain numbers "
        "comes out the same at every width or depth; a sweep drops such an axis rather than print "
        "identical rows.",
        "archscope sweep lenet5 --grid width=0.5,1.0",
        "Write the spec's channels as `ch(64)` and its repeats as `n: rep(3)` (as resnet50.yaml and "
        "efficientnet_b0.yaml do), or sweep another axis.",
        subject="command",
    ),
)

EXPLANATIONS: dict[str, Code] = {entry.code: entry for entry in TABLE}

# code → one-line meaning, as the diagnostics and the README's table use it
CODES: dict[str, str] = {entry.code: entry.summary for entry in TABLE}


def explain(code: str) -> Code | None:
    """The explanation of a code (case-insensitive), or None."""
    return EXPLANATIONS.get(code.strip().upper())
