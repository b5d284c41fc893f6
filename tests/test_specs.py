"""The --input grammar (pure Python, no torch)."""

from __future__ import annotations

import pytest

from netinspect.errors import InputSpecError
from netinspect.specs import (
    InputSpec,
    TensorSpec,
    format_input_spec,
    parse_dtype,
    parse_input_spec,
    parse_input_specs,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1x3x224x224", InputSpec(None, TensorSpec((1, 3, 224, 224)))),
        ("1,3,224,224", InputSpec(None, TensorSpec((1, 3, 224, 224)))),
        ("1X3×32×32", InputSpec(None, TensorSpec((1, 3, 32, 32)))),
        ("1x128:int64", InputSpec(None, TensorSpec((1, 128), "int64"))),
        ("1x128:long", InputSpec(None, TensorSpec((1, 128), "int64"))),
        ("text=1x10", InputSpec("text", TensorSpec((1, 10)))),
        ("ids=1x10:int32", InputSpec("ids", TensorSpec((1, 10), "int32"))),
        ("7", InputSpec(None, TensorSpec((7,)))),
        (
            "[3x224x224,3x200x300]",
            InputSpec(None, (TensorSpec((3, 224, 224)), TensorSpec((3, 200, 300)))),
        ),
        ("images=[3x8x8:float16]", InputSpec("images", (TensorSpec((3, 8, 8), "float16"),))),
        ("  1x3  ", InputSpec(None, TensorSpec((1, 3)))),
    ],
)
def test_valid_specs(text: str, expected: InputSpec) -> None:
    assert parse_input_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("1x3x22a4", 6, "unexpected 'a'"),
        ("1x3x", 4, "spec ended"),
        ("x3", 0, "unexpected 'x'"),
        ("1x0x3", 2, "got 0"),
        ("1x-3", 2, "negative"),
        ("1x3:floot", 4, "unknown dtype 'floot'"),
        ("1x3:", 4, "a dtype after ':'"),
        ("[3x4,3x5", 8, "',' or ']'"),
        ("[3x4;3x5]", 4, "unexpected ';'"),
        ("my-input=1x3", 2, "not a valid input name"),
        ("1x3]", 3, "unexpected ']'"),
    ],
)
def test_malformed_specs_name_the_character(text: str, position: int, fragment: str) -> None:
    with pytest.raises(InputSpecError) as info:
        parse_input_spec(text)
    assert info.value.position == position
    assert fragment in str(info.value)
    assert f"position {position}" in str(info.value)


def test_empty_spec() -> None:
    with pytest.raises(InputSpecError, match="empty"):
        parse_input_spec("   ")


def test_keyword_rules() -> None:
    specs = parse_input_specs(["1x3", "mask=1x4"])
    assert [s.name for s in specs] == [None, "mask"]
    with pytest.raises(InputSpecError, match="positional inputs must come before"):
        parse_input_specs(["mask=1x4", "1x3"])
    with pytest.raises(InputSpecError, match="given twice"):
        parse_input_specs(["a=1", "a=2"])


@pytest.mark.parametrize("text", ["1x3x224x224", "x=1x2:int64", "[3x4x5,3x6x7]", "n=[2:bool]"])
def test_format_round_trips(text: str) -> None:
    assert format_input_spec(parse_input_spec(text)) == text


def test_dtype_aliases() -> None:
    assert parse_dtype("torch.half") == "float16"
    assert parse_dtype("BF16") == "bfloat16"
    with pytest.raises(ValueError, match="choose from"):
        parse_dtype("float8")


def test_parser_does_not_import_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from netinspect.specs import parse_input_spec; "
        "parse_input_spec('1x3'); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("1x3x1000000000x1000000000", "3e+18 elements: more than any device, even meta"),
        ("2x" * 64 + "4", "elements: more than any device"),
        ("1" * 5000, "dimension of 5000 digits is absurdly large"),
    ],
)
def test_sizes_no_device_can_describe(text: str, fragment: str) -> None:
    with pytest.raises(InputSpecError) as info:
        parse_input_spec(text)
    assert fragment in str(info.value)
    assert len(str(info.value)) < 200  # a long spec is shortened in the one-line message
