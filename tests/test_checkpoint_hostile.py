"""Hostile checkpoints: safetensors headers that lie (huge, overlapping or out-of-range
offsets), indexes that lie or escape their directory, nesting too deep, pickles that are not
weights-only, DEFLATE bombs. Each is refused quickly with exit 2 and one line on stderr, for
``netinspect FILE`` and for ``--weights`` alike; nothing in them is ever run."""

from __future__ import annotations

import json
import struct
import time
import zipfile
from pathlib import Path
from typing import Any

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
import torch
from netinspect_cli.app import app
from typer.testing import CliRunner

from tests.checkpoint_files import write_raw_header, write_safetensors_header
from tests.conftest import one_line_error

REPO = Path(__file__).resolve().parents[1]
TINY = f"{REPO / 'tests' / 'models' / 'sources.py'}:Tiny"  # Linear(4, 3)
runner = CliRunner()


def refused(path: Path, *, device: str = "cpu") -> tuple[str, str]:
    """The error line of ``netinspect FILE`` and of ``--weights FILE``, each under 2 s."""
    start = time.perf_counter()
    alone = one_line_error(runner.invoke(app, ["inspect", str(path)]))
    loaded = one_line_error(
        runner.invoke(app, ["inspect", TINY, "-i", "1x4", "-d", device, "--weights", str(path)])
    )
    assert time.perf_counter() - start < 10
    return alone, loaded


def _entry(shape: list[int], begin: int, end: int) -> dict[str, Any]:
    return {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}


@pytest.mark.parametrize(
    ("header", "data", "expected"),
    [
        ({"fc.weight": _entry([3, 4], 0, 48), "fc.bias": _entry([3], 40, 52)}, 52, "overlaps"),
        ({"fc.weight": _entry([3, 4], 0, 48)}, 10, "a truncated file"),
        ({"fc.weight": _entry([3, 4], 0, 10**18)}, 48, "declares"),
        ({"fc.weight": _entry([3, 4], 0, 40)}, 48, "takes 48"),
        (
            {"fc.weight": {"dtype": "X99", "shape": [3], "data_offsets": [0, 12]}},
            12,
            "unknown dtype",
        ),
        ({"fc.weight": _entry([-3, 4], 0, 48)}, 48, "invalid shape"),
        ({"fc.weight": _entry([3, 4], 48, 0)}, 48, "invalid data_offsets"),
        ([1, 2, 3], 0, "not a JSON object"),
    ],
)
def test_lying_safetensors_headers(
    tmp_path: Path, header: object, data: int, expected: str
) -> None:
    path = tmp_path / "bad.safetensors"
    write_raw_header(path, header, data)
    for line in refused(path):
        assert expected in line and "refusing safetensors file" in line


def test_a_header_length_past_the_file_or_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", 10**15) + b"{}")
    assert "the limit is 100 MB" in refused(path)[0]
    path.write_bytes(struct.pack("<Q", 1000) + b"{}")
    assert "the file has 2 more" in refused(path)[0]
    path.write_bytes(struct.pack("<Q", 4) + b"\xff\xfe{}")
    assert "not valid JSON" in refused(path)[0]


def _index(tmp_path: Path, weight_map: dict[str, str]) -> Path:
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return index


def test_an_index_that_lies_about_a_shard(tmp_path: Path) -> None:
    write_safetensors_header(tmp_path / "a.safetensors", [("fc.weight", (3, 4), torch.float32)])
    write_safetensors_header(tmp_path / "b.safetensors", [("fc.bias", (3,), torch.float32)])
    index = _index(tmp_path, {"fc.weight": "a.safetensors", "fc.bias": "a.safetensors"})
    for line in refused(index):
        assert "maps 'fc.bias' to a.safetensors, which lacks it" in line


@pytest.mark.parametrize(
    "shard", ["../outside.safetensors", "/etc/passwd", "sub/x.safetensors", ".."]
)
def test_an_index_that_escapes_its_directory(tmp_path: Path, shard: str) -> None:
    inner = tmp_path / "model"
    inner.mkdir()
    write_safetensors_header(
        tmp_path / "outside.safetensors", [("fc.weight", (3, 4), torch.float32)]
    )
    index = _index(inner, {"fc.weight": shard})
    for line in refused(index):
        assert "is not a file name in the index's directory" in line


def test_an_index_naming_a_missing_shard(tmp_path: Path) -> None:
    index = _index(tmp_path, {"fc.weight": "gone.safetensors"})
    assert "which is missing" in refused(index)[0]


def test_state_dict_wrapped_too_deep(tmp_path: Path) -> None:
    state: dict[str, Any] = {"fc.weight": torch.zeros(3, 4), "fc.bias": torch.zeros(3)}
    for _ in range(10):
        state = {"model": state}
    path = tmp_path / "deep.pt"
    torch.save(state, path)
    for line in refused(path):
        assert "wrapped more than 6 levels deep" in line


def _with_pickle(tmp_path: Path, pickle_bytes: bytes) -> Path:
    """A torch.save zip whose data.pkl is replaced (stored, as torch writes it)."""
    source = tmp_path / "source.pt"
    torch.save({"x": 1}, source)
    target = tmp_path / "crafted.pt"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = pickle_bytes if info.filename.endswith("data.pkl") else src.read(info)
            dst.writestr(info.filename, data)
    return target


def test_deeply_nested_pickle_is_refused_quickly(tmp_path: Path) -> None:
    depth = 100_000  # EMPTY_DICT then (key, dict) SETITEMs: a dict nested 100,000 deep
    body = b"\x80\x02" + b"}" + b"X\x01\x00\x00\x00k}" * depth + b"s" * depth + b"."
    for line in refused(_with_pickle(tmp_path, body)):
        assert "not a state dict" in line or "nested too deeply" in line


class _Evil:
    def __reduce__(self) -> tuple[Any, ...]:
        import os

        return (os.system, ("touch " + str(Path(__file__).parent / "PWNED_CKPT"),))


def test_a_pickle_that_is_not_weights_only_never_runs(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"fc.weight": torch.zeros(3, 4), "payload": _Evil()}, path)
    marker = Path(__file__).parent / "PWNED_CKPT"
    marker.unlink(missing_ok=True)
    for line in refused(path):
        assert "Python objects" in line and "weights_only" in line
    assert not marker.exists()


def test_deflate_bomb_is_refused_for_every_path(tmp_path: Path) -> None:
    plain = tmp_path / "plain.pt"
    torch.save({"fc.weight": torch.zeros(1000, 1000), "fc.bias": torch.zeros(3)}, plain)
    bomb = tmp_path / "bomb.pt"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    for line in refused(bomb):
        assert "expand to" in line
    # ... and inside a sharded torch index.
    index = tmp_path / "pytorch_model.bin.index.json"
    index.write_text(json.dumps({"weight_map": {"fc.weight": "bomb.pt"}}))
    assert "expand to" in refused(index)[0]


def test_truncated_zip_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "cut.pth"
    torch.save({"fc.weight": torch.zeros(3, 4)}, path)
    path.write_bytes(path.read_bytes()[:200])
    for line in refused(path):
        assert "truncated zip archive" in line
