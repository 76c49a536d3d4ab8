"""The located YAML loader: 1-based spans from the parser's marks, duplicate keys, aliases,
tags, and the input hazards it stops before any later pass sees them."""

from __future__ import annotations

import pytest
from conftest import analyze_text, codes, layer, net, only, where

from archscope.diagnostics import SpecError
from archscope.lang.yaml_events import MAX_ALIAS_EXPANSION, MAX_DEPTH
from archscope.lang.yamlsrc import parse_yaml
from archscope.lang.ynodes import YMap, YScalar, YSeq, to_python


def test_spans_are_one_based_and_point_at_keys_and_values():
    text = "input: [3, 8, 8]\nlayers:\n  - {op: conv2d, out: 4, kernel: 3}\n"
    root = parse_yaml(text, "f.yaml")
    assert isinstance(root, YMap)
    assert tuple(root.key_span("layers"))[:3] == ("f.yaml", 2, 1)
    conv = root.get("layers").items[0]
    assert isinstance(conv, YMap)
    assert (conv.span.line, conv.span.col) == where(text, "{op")
    assert (conv.key_span("kernel").line, conv.key_span("kernel").col) == where(text, "kernel")
    out = conv.get("out")
    assert isinstance(out, YScalar) and out.value == 4
    assert (out.span.line, out.span.col) == where(text, "4,")
    assert str(out.span) == f"f.yaml:{out.span.line}:{out.span.col}"


def test_scalars_are_typed_as_yaml_1_1_says():
    root = parse_yaml("a: 11_689_512\nb: 0x10\nc: 1.5e+3\nd: true\ne: null\nf: '3'\ng: conv2d\nh: ~\n", "f")
    assert to_python(root) == {
        "a": 11_689_512,
        "b": 16,
        "c": 1500.0,
        "d": True,
        "e": None,
        "f": "3",
        "g": "conv2d",
        "h": None,
    }


@pytest.mark.parametrize(
    "text,needle,key",
    [
        ("input: [3, 8, 8]\nlayers: [relu]\ninput: [3, 4, 4]\n", "input: [3, 4", "input"),
        (net("{op: conv2d, out: 4, kernel: 3, out: 5}"), "out: 5", "out"),
        (net("{op: relu, name: a, name: b}"), "name: b", "name"),
        ("input: [3]\nlayers:\n  - op: relu\n    op: sigmoid\n", "op: sigmoid", "op"),
        ("'input': [3]\ninput: [3]\nlayers: [relu]\n", "input: [3]\nlayers", "input"),  # quoting does not hide it
        (
            "input: [3]\nlayers: [relu]\nblocks:\n  b: {layers: [relu]}\n  b: {layers: [relu]}\n",
            "b: {layers: [relu]}\n\n",
            "b",
        ),
    ],
)
def test_duplicate_keys_are_errors_at_the_second_key(text: str, needle: str, key: str):
    if needle.endswith("\n\n"):  # the second block definition
        line, col = where(text, needle[:-2], 2)
    else:
        line, col = where(text, needle)
    d = only(analyze_text(text), "E002")
    assert (d.span.line, d.span.col) == (line, col)
    assert f"duplicate key `{key}`" in d.message
    assert d.expected == "each key once" and d.found == f"`{key}` twice"


def test_every_duplicate_key_is_reported():
    text = "input: [3]\nlayers: [relu]\ninput: [4]\ntitle: a\ntitle: b\n"
    analysis = analyze_text(text)
    assert [(d.code, d.span.line) for d in analysis.diagnostics] == [("E002", 3), ("E002", 5)]


def test_merge_keys_are_resolved_and_explicit_keys_win():
    text = (
        "input: [3, 8, 8]\nlayers:\n  - &conv {op: conv2d, name: a, out: 4, kernel: 3, padding: 1}\n"
        "  - {<<: *conv, name: t, out: 8}\n"
    )
    analysis = analyze_text(text)
    assert layer(analysis, "t").output_shape == (8, 8, 8)
    assert layer(analysis, "t").params == 3 * 3 * 4 * 8 + 8


def test_merge_of_a_non_mapping_is_an_error():
    text = net("{<<: [1], op: relu}")
    d = only(analyze_text(text), "E004")
    assert (d.span.line, d.span.col) == where(text, "1]")


@pytest.mark.parametrize(
    "text,needle,message",
    [
        ("input: [3]\nlayers: [!!int relu]\n", "!!int", "`relu` is not a valid `!!int`"),
        ("input: [3]\nlayers: [relu]\ntitle: !!float abc\n", "!!float", "`abc` is not a valid `!!float`"),
        ("input: [3]\nlayers: [relu]\ntitle: !!bool maybe\n", "!!bool", "`maybe` is not a valid `!!bool`"),
        ("input: [3]\nlayers: [relu]\ntitle: !!int\n", "!!int", "an empty value is not a valid `!!int`"),
        ("input: [3]\nlayers: [relu]\ntitle: !!float ''\n", "!!float", "an empty value is not a valid `!!float`"),
        ("input: [3, " + "7" * 5000 + "]\nlayers: [relu]\n", "777", "a number of 5,000 digits is too large"),
    ],
)
def test_bad_tagged_or_huge_scalars_are_located_errors(text: str, needle: str, message: str):
    d = only(analyze_text(text), "E004")
    assert message in d.message
    assert (d.span.line, d.span.col) == where(text, needle)
    assert len(d.found) < 100  # the value is shown cut short


def test_unknown_tags_are_plain_strings_never_objects():
    text = "input: [3]\nlayers: [relu]\ntitle: !!python/object/apply:os.system ['echo pwned']\n"
    analysis = analyze_text(text)
    assert analysis.ok
    assert analysis.report.meta["title"] == ["echo pwned"]


def test_merge_keys_of_aliases_share_without_copying():
    text = "params: {a: &a [1, 2, 3], b: *a}\ninput: [3]\nlayers: [relu]\n"
    root = parse_yaml(text, "f")
    params = root.get("params")
    assert params.get("a") is params.get("b")  # one node, shared: an alias is never expanded in memory


def test_billion_laughs_is_stopped_quickly():
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    text = "params:\n" + "".join(f"  {line}\n" for line in lines) + "input: [3]\nlayers: [relu]\nexpect: {output: *i}\n"
    d = only(analyze_text(text), "E011")  # 9**9 = 387,420,489 nodes: counted, and stopped at the limit
    assert f"more than {MAX_ALIAS_EXPANSION:,}" in d.message
    assert d.span.line in range(2, 11)  # at one of the anchors, not at 1:1


def test_small_aliases_are_fine():
    text = (
        "params: {widths: &w [16, 32]}\ninput: [3, 8, 8]\n"
        "layers:\n  - {op: conv2d, name: t, out: 'widths[1]', kernel: 1}\ntags: *w\n"
    )
    analysis = analyze_text(text)
    assert analysis.ok and layer(analysis, "t").output_shape == (32, 8, 8)


@pytest.mark.parametrize(
    "text,alias",
    [
        ("input: &a [3, *a]\nlayers: [relu]\n", "*a"),
        ("title: &m {x: *m}\ninput: [3]\nlayers: [relu]\n", "*m"),
    ],
)
def test_recursive_alias_is_an_error_at_the_alias(text: str, alias: str):
    d = only(analyze_text(text), "E011")
    assert f"the alias `{alias}` is inside the node it refers to" in d.message
    assert (d.span.line, d.span.col) == where(text, alias)


@pytest.mark.parametrize(
    "text,needle,message",
    [
        ("input: *nothing\nlayers: [relu]\n", "*nothing", "the alias `*nothing` names no anchor before it"),
        ("title: &a x\nnotes: &a y\ninput: [3]\nlayers: [relu]\n", "&a y", "the anchor `&a` is defined twice"),
    ],
)
def test_alias_and_anchor_mistakes(text: str, needle: str, message: str):
    d = only(analyze_text(text), "E001")
    assert message in d.message
    assert (d.span.line, d.span.col) == where(text, needle)


@pytest.mark.parametrize("depth", [40_000, 200_000])
def test_very_deep_nesting_does_not_crash_the_interpreter(depth: int):
    # libyaml's own composer recurses in C per level and segfaults around here
    for opener, closer in (("[", "]"), ("{a: ", "}")):
        text = "input: [3]\nlayers: [relu]\ntags: " + opener * depth + closer * depth + "\n"
        d = only(analyze_text(text), "E011")
        assert "nesting is deeper than" in d.message and d.span.line == 3


def _nth(text: str, needle: str, n: int) -> tuple[int, int]:
    """1-based (line, col) of the n-th occurrence (1-based) of a one-character needle."""
    pos = -1
    for _ in range(n):
        pos = text.index(needle, pos + 1)
    return text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, MAX_DEPTH + 10, 999, 1_000, 5_000, 10_000])
def test_deep_flow_nesting_is_refused_where_our_limit_is_crossed(depth: int):
    # PyYAML 6.0.4's libyaml stops at about 1,000 levels with its own error; 6.0.3's does not.
    # Either way the diagnostic is archscope's E011 at the opener that crosses MAX_DEPTH.
    text = "input: [3]\nlayers: [relu]\ntags: " + "[" * depth + "]" * depth + "\n"
    d = only(analyze_text(text), "E011")
    assert d.message == f"nesting is deeper than {MAX_DEPTH} levels"
    # the root mapping is level 0 and `input: [3]` holds one `[`; tags' k-th `[` is level k
    assert (d.span.line, d.span.col) == _nth(text, "[", 2 + MAX_DEPTH + 1)


def test_nesting_limit_at_the_boundary_is_accepted():
    text = "input: [3]\nlayers: [relu]\ntags: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    assert analyze_text(text).ok


@pytest.mark.parametrize(
    "text",
    [
        "tags: " + "[" * 5_000 + "]" * 5_000 + "\n",
        "tags: " + "{a: " * 5_000 + "}" * 5_000 + "\n",
        "tags:\n" + "".join(" " * i + "k:\n" for i in range(1, 1_200)) + " " * 1_200 + "v\n",
        "tags:\n" + "".join("  " * i + "-\n" for i in range(1, 1_200)),
    ],
)
def test_nesting_diagnostic_is_the_same_from_libyaml_and_the_pure_python_parser(text: str, monkeypatch):
    # The C parser (with its own limit in PyYAML >= 6.0.4) and the pure-Python one give one diagnostic.
    from archscope.lang import yamlsrc

    with_libyaml = [(d.code, d.message, d.span.line, d.span.col) for d in _errors(text)]
    monkeypatch.setattr(yamlsrc, "_Loader", yamlsrc._PyLoader)
    pure_python = [(d.code, d.message, d.span.line, d.span.col) for d in _errors(text)]
    assert with_libyaml == pure_python
    assert [code for code, *_ in pure_python] == ["E011"]
    assert pure_python[0][1] == f"nesting is deeper than {MAX_DEPTH} levels"


def _errors(text: str) -> list:
    from archscope.lang.yamlsrc import SpecError

    with pytest.raises(SpecError) as info:
        parse_yaml(text, "f")
    return info.value.diagnostics


def test_deep_block_style_nesting_is_refused():
    text = "input: [3]\nlayers:\n" + "".join("  " * i + "- \n" for i in range(1, 200))
    assert codes(analyze_text(text)) == ["E011"]


@pytest.mark.parametrize(
    "text,line,col,message",
    [
        ("", 1, 1, "the file is empty"),
        ("   \n\n", 1, 1, "the file is empty"),
        ("# only a comment\n", 1, 1, "holds no YAML document"),
        ("input: [3, 8\nlayers: [relu]\n", 2, 7, "invalid YAML"),
        ("input: [3]\nlayers:\n\t- relu\n", 3, 1, "invalid YAML"),
        ("input: [3]\nlayers: [relu]\n---\ninput: [4]\n", 3, 1, "expected a single document"),
        ("input: [3]\nlayers: [relu]\n\x00\n", 3, 1, "invalid YAML"),
        ("input: [3]\nlayers: [relu]\ntitle: a\x07b\n", 3, 9, "control characters are not allowed"),
        ("input: {a: 1\n", 2, 1, "invalid YAML"),
    ],
)
def test_unparseable_text_is_a_located_e001(text: str, line: int, col: int, message: str):
    d = only(analyze_text(text), "E001")
    assert message in d.message
    assert (d.span.line, d.span.col) == (line, col)


def test_a_byte_order_mark_is_accepted():
    assert analyze_text("\ufeffinput: [3]\nlayers: [relu]\n").ok


def test_non_string_keys_are_errors():
    text = "input: [3]\nlayers: [relu]\n? [1, 2]\n: x\n"
    d = only(analyze_text(text), "E004")
    assert "mapping keys must be plain strings" in d.message
    assert (d.span.line, d.span.col) == where(text, "[1, 2]")


def test_parse_yaml_raises_spec_error_with_every_problem():
    with pytest.raises(SpecError) as err:
        parse_yaml("a: 1\na: 2\nb: [1]\nb: 3\n", "f")
    assert [d.code for d in err.value.diagnostics] == ["E002", "E002"]


def test_to_python_keeps_shapes():
    root = parse_yaml("a: [1, {b: [2, 3]}]\n", "f")
    assert isinstance(root.get("a"), YSeq)
    assert to_python(root) == {"a": [1, {"b": [2, 3]}]}
