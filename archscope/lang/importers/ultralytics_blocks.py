"""The archscope blocks an imported Ultralytics model is written with: one per Ultralytics module.

Each function returns a block definition (``doc``, ``args``, ``layers``) that mirrors the
module's ``__init__`` and ``forward`` in ``ultralytics/nn/modules/{conv,block,head}.py``
(Ultralytics 8.4), as the bundled ``specs/yolov8n.yaml`` writes them by hand. A block whose
layer list depends on a count (C2f's concat takes all ``n`` Bottleneck outputs) is written once
per count. Blocks are data; :mod:`.ultralytics_text` writes them as YAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Layer = dict[str, Any]  # one archscope layer entry: `op`, `name`, `in`, attributes or block arguments


@dataclass(frozen=True)
class BlockDef:
    doc: str
    args: dict[str, Any]  # argument → default (None: required)
    layers: tuple[Layer, ...]


@dataclass(frozen=True)
class ConvFeatures:
    """What the imported rows ask of Ultralytics' Conv beyond `c, k, s`: groups (DWConv, GhostConv,
    the YOLO11 Detect head), a Conv without activation (GhostBottleneck's second GhostConv), and the
    activation itself (SiLU, or the model's `activation:`)."""

    groups: bool = False
    padding: bool = False  # a row that gives Conv's padding (YOLOv5's first Conv: k 6, p 2)
    optional_act: bool = False
    act_op: str = "silu"
    act_attrs: tuple[tuple[str, Any], ...] = ()


def conv(f: ConvFeatures) -> BlockDef:
    """Conv(c1, c, k, s, p=None, g, d=1, act) (conv.py): conv2d without bias, padding p or autopad(k)
    = k // 2, then BatchNorm2d (eps 0.001, momentum 0.03: initialize_weights in utils/torch_utils.py)
    and the default activation (SiLU)."""
    args: dict[str, Any] = {"c": None, "k": 1, "s": 1}
    conv2d: Layer = {"op": "conv2d", "name": "conv", "out": "c", "kernel": "k", "stride": "s", "padding": "k // 2"}
    if f.padding:
        args["p"] = "k // 2"
        conv2d["padding"] = "p"
    if f.groups:
        args["g"] = 1
        conv2d["groups"] = "g"
    conv2d["bias"] = False
    act: Layer = {"op": f.act_op, "name": "act", **dict(f.act_attrs)}
    if f.optional_act:
        args["act"] = True
        act["if"] = "act"
        act["else"] = "bn"
    doc = f"Ultralytics' Conv: conv (no bias, padding k // 2) + BN + {f.act_op}"
    return BlockDef(
        doc, args, (conv2d, {"op": "batchnorm2d", "name": "bn", "eps": "bn_eps", "momentum": "bn_momentum"}, act)
    )


def bottleneck() -> BlockDef:
    """Bottleneck(c1, c, shortcut, g=1, k=(k1, k2), e) (block.py): Conv k1 to int(c · e), Conv k2 to
    c, plus the input when `shortcut and c1 == c` (its `self.add`)."""
    return BlockDef(
        "Bottleneck(c1, c, shortcut, k=(k1, k2), e): Conv k1×k1 to int(c·e), Conv k2×k2 to c, + input when shortcut",
        {"c": "in_channels", "shortcut": False, "k1": 3, "k2": 3, "e": 1.0},
        (
            {"op": "conv", "name": "cv1", "c": "int(c * e)", "k": "k1"},
            {"op": "conv", "name": "cv2", "c": "c", "k": "k2"},
            {
                "op": "add",
                "name": "add",
                "in": ["cv2", "input"],
                "if": "shortcut and in_channels == c",
                "else": "cv2",
            },
        ),
    )


def c2f() -> BlockDef:
    """C2f(c1, c, n, shortcut, g=1, e=0.5) (block.py): Conv 1×1 to 2·int(c·e), chunk(2), n
    Bottleneck(int(c·e), shortcut, k=(3, 3), e=1.0) chained on the last chunk, concat of the two
    chunks and every Bottleneck output (`m.*`), Conv 1×1 to c."""
    inner = _chain("bottleneck", shortcut="shortcut")
    return _csp2(
        "C2f: n bottlenecks on half the channels, every output concatenated",
        inner,
        {"c": None, "shortcut": False, "e": 0.5},
    )


def c3k2(c3k: bool) -> BlockDef:
    """C3k2(c1, c, n, c3k, e, attn=False, g=1, shortcut=True) (block.py): a C2f whose n inner
    modules are C3k(int(c·e), int(c·e), 2, shortcut) when c3k, else Bottleneck(int(c·e),
    shortcut), whose e is Bottleneck's default 0.5. parse_model sets c3k for scales m, l, x."""
    if c3k:
        inner, what = _chain("c3k", shortcut="shortcut"), "C3k2: n C3k on half the channels"
    else:
        inner = _chain("bottleneck", shortcut="shortcut", e=0.5)
        what = "C3k2: n bottlenecks (e = 0.5) on half the channels"
    return _csp2(what, inner, {"c": None, "shortcut": True, "e": 0.5})


def _chain(op: str, **kw: Any) -> list[Layer]:
    """`m`: `repeats` layers of `op` (`m.0` … as Ultralytics names them), the first on the second
    chunk, each on the one before."""
    return [{"op": op, "name": "m", "n": "repeats", "in": "chunk.1", **kw}]


def _csp2(doc: str, inner: list[Layer], args: dict[str, Any]) -> BlockDef:
    """The C2f pattern: split in two, run `inner` on the second half, concatenate everything."""
    return BlockDef(
        doc,
        {"c": args["c"], "repeats": 1, **{k: v for k, v in args.items() if k != "c"}},
        (
            {"op": "conv", "name": "cv1", "c": "2 * int(c * e)"},
            {"op": "split", "name": "chunk", "sections": 2},
            *inner,
            {"op": "concat", "name": "cat", "in": ["chunk.0", "chunk.1", "m.*"]},
            {"op": "conv", "name": "cv2", "c": "c"},
        ),
    )


def c3(kind: str) -> BlockDef:
    """C3(c1, c, n, shortcut, g=1, e=0.5) (block.py): Conv 1×1 to int(c·e) then n inner modules
    chained; beside it Conv 1×1 of the input to int(c·e); concat of the two; Conv 1×1 to c. The
    inner module is Bottleneck(k=(1, 3), e=1.0) for C3, Bottleneck(k=(k, k), e=1.0) for C3k (used
    inside C3k2, n = 2) and GhostBottleneck for C3Ghost (which ignores `shortcut`)."""
    args: dict[str, Any] = {"c": None, "repeats": 1, "shortcut": True, "e": 0.5}
    inner: Layer = {"op": "bottleneck", "name": "m", "n": "repeats", "shortcut": "shortcut", "k1": 1}
    doc = "C3(c, n, shortcut, e): Conv 1×1 → n Bottlenecks (1×1, 3×3) ‖ Conv 1×1 of the input → concat → Conv 1×1"
    if kind == "c3k":
        args = {"c": "in_channels", "repeats": 2, "shortcut": True, "e": 0.5, "k": 3}
        inner = {"op": "bottleneck", "name": "m", "n": "repeats", "shortcut": "shortcut", "k1": "k", "k2": "k"}
        doc = "C3k(c, c, n=2, shortcut, e, k): a C3 whose Bottlenecks are k×k, k×k"
    elif kind == "c3ghost":
        args = {"c": None, "repeats": 1, "e": 0.5}
        inner = {"op": "ghost_bottleneck", "name": "m", "n": "repeats"}
        doc = "C3Ghost(c, n, e): a C3 whose inner modules are GhostBottlenecks"
    return BlockDef(
        doc,
        args,
        (
            {"op": "conv", "name": "cv1", "c": "int(c * e)"},
            inner,
            {"op": "conv", "name": "cv2", "in": "input", "c": "int(c * e)"},
            {"op": "concat", "name": "cat", "in": ["m", "cv2"]},
            {"op": "conv", "name": "cv3", "c": "c"},
        ),
    )


def sppf() -> BlockDef:
    """SPPF(c1, c, k=5) (block.py), as a legacy row (at most [c, k]) builds it: parse_model gives
    cv1 back its activation. Conv 1×1 to c1 // 2, three chained k×k/1 max pools (padding k // 2),
    concat of the four, Conv 1×1 to c."""
    return BlockDef(
        "SPPF(c, k): Conv 1×1 to c_in/2, three chained k×k/1 max pools, concat, Conv 1×1",
        {"c": None, "k": 5},
        (
            {"op": "conv", "name": "cv1", "c": "in_channels // 2"},
            *({"op": "maxpool2d", "name": f"m{j}", "kernel": "k", "stride": 1, "padding": "k // 2"} for j in (1, 2, 3)),
            {"op": "concat", "name": "cat", "in": ["cv1", "m1", "m2", "m3"]},
            {"op": "conv", "name": "cv2", "c": "c"},
        ),
    )


def ghostconv() -> BlockDef:
    """GhostConv(c1, c, k=1, s=1, g=1, act) (conv.py): Conv k×k/s to c // 2, a depthwise Conv 5×5
    of that (groups c // 2), the two concatenated."""
    return BlockDef(
        "GhostConv(c, k, s, act): Conv k×k/s to c/2, depthwise Conv 5×5 of it, concat",
        {"c": None, "k": 1, "s": 1, "act": True},
        (
            {"op": "conv", "name": "cv1", "c": "c // 2", "k": "k", "s": "s", "act": "act"},
            {"op": "conv", "name": "cv2", "c": "c // 2", "k": 5, "g": "c // 2", "act": "act"},
            {"op": "concat", "name": "cat", "in": ["cv1", "cv2"]},
        ),
    )


def ghost_bottleneck() -> BlockDef:
    """GhostBottleneck(c, c, k=3, s=1) (block.py): GhostConv 1×1 to c // 2, (identity at s = 1),
    GhostConv 1×1 to c without activation, plus the input (identity shortcut at s = 1)."""
    return BlockDef(
        "GhostBottleneck(c, c): GhostConv 1×1 to c/2, GhostConv 1×1 to c (no activation), + input",
        {},
        (
            {"op": "ghostconv", "name": "ghost1", "c": "in_channels // 2"},
            {"op": "ghostconv", "name": "ghost2", "c": "in_channels", "act": False},
            {"op": "add", "name": "add", "in": ["ghost2", "input"]},
        ),
    )


def classify() -> BlockDef:
    """Classify(c1, c, k=1, s=1) (head.py): Conv k×k/s to 1280, adaptive average pool to 1×1,
    flatten, Dropout(p=0.0) (nothing: left out), linear to c. Its eval-mode softmax has no
    parameters and is left out: the output is the logits."""
    return BlockDef(
        "Classify(c, k, s): Conv to 1280, global average pool, flatten, linear to c (logits)",
        {"c": None, "k": 1, "s": 1},
        (
            {"op": "conv", "name": "conv", "c": 1280, "k": "k", "s": "s"},
            {"op": "global_avgpool", "name": "pool"},
            {"op": "flatten", "name": "flatten"},
            {"op": "linear", "name": "linear", "out": "c"},
        ),
    )


def detect_scale(legacy: bool) -> BlockDef:
    """One scale i of Detect(nc, reg_max, ch) (head.py): cv2[i] = Conv 3×3 → Conv 3×3 to box_c →
    conv2d 1×1 (bias) to 4·reg_max; cv3[i] = Conv 3×3 → Conv 3×3 to cls_c → conv2d 1×1 to nc when
    `Detect.legacy` (v3/v5/v8/v9 rows), else (a model with C3k2: YOLO11) DWConv 3×3 → Conv 1×1 to
    cls_c, DWConv 3×3 → Conv 1×1, conv2d 1×1 to nc. Output: the box and class maps concatenated
    (Detect's per-scale cat(cv2[i](x), cv3[i](x)) of Ultralytics 8.x)."""
    box = (
        {"op": "conv", "name": "box1", "c": "box_c", "k": 3},
        {"op": "conv", "name": "box2", "c": "box_c", "k": 3},
        {"op": "conv2d", "name": "box", "out": "4 * reg_max", "kernel": 1},
    )
    if legacy:
        cls: tuple[Layer, ...] = (
            {"op": "conv", "name": "cls1", "in": "input", "c": "cls_c", "k": 3},
            {"op": "conv", "name": "cls2", "c": "cls_c", "k": 3},
        )
        doc = "one scale of Detect: box branch (cv2[i]) and class branch (cv3[i]), concatenated"
    else:
        cls = (
            {"op": "conv", "name": "cls1_dw", "in": "input", "c": "in_channels", "k": 3, "g": "in_channels"},
            {"op": "conv", "name": "cls1", "c": "cls_c"},
            {"op": "conv", "name": "cls2_dw", "c": "cls_c", "k": 3, "g": "cls_c"},
            {"op": "conv", "name": "cls2", "c": "cls_c"},
        )
        doc = "one scale of Detect (YOLO11 head): box branch (cv2[i]), depthwise class branch (cv3[i]), concatenated"
    return BlockDef(
        doc,
        {},
        (
            *box,
            *cls,
            {"op": "conv2d", "name": "cls", "out": "nc", "kernel": 1},
            {"op": "concat", "name": "cat", "in": ["box", "cls"]},
        ),
    )
