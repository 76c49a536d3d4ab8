"""The JSON Schema of the spec language, generated from the op registry (one source of truth).

``archscope schema > archscope.schema.json``; the repository ships the result as
``schema/archscope.schema.json`` and a test keeps the two in step.
"""

from __future__ import annotations

from typing import Any

from archscope.lang.spec import BLOCK_KEYS, EXPECT_KEYS, META_KEYS, SCALE_KEYS
from archscope.ops import REGISTRY
from archscope.ops.attrs import Bool, Choice, Float, Int, Sizes

EXPR = {"type": "string", "description": "an expression, e.g. `c * 4` or `2 if i == 0 else 1`"}
PATTERN = {"type": "string", "minLength": 1, "description": "a layer-name glob: `fc`, `layer1`, `layer4.*`, `*`"}
PATTERNS = {"anyOf": [PATTERN, {"type": "array", "items": PATTERN}]}


def _attr_schema(t: Any) -> dict[str, Any]:
    if hasattr(t, "json_schema"):  # a type of one op family's own
        return {"anyOf": [t.json_schema(), EXPR]}
    if isinstance(t, Int):
        base: dict[str, Any] = {"type": "integer", "minimum": t.min}
    elif isinstance(t, Float):
        base = {"type": "number", "exclusiveMinimum" if t.above_min else "minimum": t.min}
    elif isinstance(t, Bool):
        base = {"type": "boolean"}
    elif isinstance(t, Choice):
        return {"enum": list(t.values)}
    elif isinstance(t, Sizes):
        options = [
            {"type": "integer", "minimum": t.min},
            {
                "type": "array",
                "items": {"anyOf": [{"type": "integer", "minimum": t.min}, EXPR]},
                "minItems": min(t.length),
                "maxItems": max(t.length),
            },
        ]
        if t.words:
            options.append({"enum": list(t.words)})
        return {"anyOf": options + [EXPR]}
    else:
        base = {}
    return {"anyOf": [base, EXPR]}


def json_schema() -> dict[str, Any]:
    reserved = {
        "name": {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_\-]*$"},
        "in": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "n": {"anyOf": [{"type": "integer", "minimum": 0}, EXPR]},
        "if": {"anyOf": [{"type": "boolean"}, EXPR], "description": "build the layer only when this is true"},
        "else": {
            "type": "string",
            "description": "with `if:`: the layer or input that stands in for this one when its `if:` is false",
        },
        "ignore": {"type": "array", "items": {"type": "string", "pattern": "^W[0-9]{3}$"}},
    }
    op_layers = []
    for name in sorted(REGISTRY):
        op = REGISTRY[name]
        props = {"op": {"const": name}, **reserved}
        props.update({a.name: {**_attr_schema(a.type), "description": a.doc or a.type.describe()} for a in op.attrs})
        op_layers.append(
            {
                "type": "object",
                "description": op.summary,
                "properties": props,
                "required": ["op"] + [a.name for a in op.attrs if a.required],
                "additionalProperties": False,
                "if": {"properties": {"op": {"const": name}}},
            }
        )
    block_layer = {
        "type": "object",
        "required": ["op"],
        "properties": {"op": {"type": "string"}, **reserved},
        "description": "a block instance: `op` names a block, other keys are its arguments",
    }
    layer = {"anyOf": [{"enum": sorted(REGISTRY)}, {"type": "string"}, *op_layers, block_layer]}
    layer_ref = {"$ref": "#/$defs/layer"}
    layers = {"type": "array", "items": layer_ref, "minItems": 1}
    shape = {
        "type": "array",
        "items": {"anyOf": [{"type": "integer", "minimum": 1}, EXPR]},
        "minItems": 1,
        "maxItems": 4,
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "archscope network spec",
        "type": "object",
        "anyOf": [
            {"required": ["input", "layers"]},
            {"required": ["inputs", "layers"]},
            {"required": ["extends"]},  # or inherited
        ],
        "additionalProperties": False,
        "$defs": {"layer": layer},
        "properties": {
            "name": reserved["name"],
            "extends": {"type": "string"},
            "input": shape,
            "inputs": {"type": "object", "additionalProperties": shape, "minProperties": 1},
            "params": {"type": "object"},
            "scale": {"type": "object", "properties": {k: {} for k in SCALE_KEYS}, "additionalProperties": False},
            "blocks": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "required": ["layers"],
                    "additionalProperties": False,
                    "properties": {k: {} for k in BLOCK_KEYS}
                    | {
                        "args": {"type": "object"},
                        "layers": layers,
                        "inputs": {
                            "type": "array",
                            "items": reserved["name"],
                            "minItems": 1,
                            "description": "the names of the block's inputs, in the order a use's `in:` gives them",
                        },
                    },
                },
            },
            "layers": layers,
            "output": {"type": "string"},
            "outputs": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "expect": {"type": "object", "properties": {k: {} for k in EXPECT_KEYS}, "additionalProperties": False},
            **{k: PATTERNS for k in ("freeze", "unfreeze")},
            **{k: {} for k in META_KEYS},
            # edits of the `layers:` inherited through `extends:` (archscope.lang.edits)
            "replace": {"type": "object", "additionalProperties": {"$ref": "#/$defs/layer"}},
            "insert_before": {"type": "object", "additionalProperties": {"anyOf": [layer_ref, layers]}},
            "insert_after": {"type": "object", "additionalProperties": {"anyOf": [layer_ref, layers]}},
            "remove": {"type": "array", "items": {"type": "string"}},
        },
    }
