"""Resource limits: YAML bombs, DEFLATE-bombed and meta-only weights,
diff alignment on long reports, ``sizes --up-to`` and its progress. A refusal is exit 2 and
one line; what is not refused stays near-linear."""

from __future__ import annotations

import random
import time
import zipfile
from pathlib import Path
from typing import Any

import netinspect_cli.main  # noqa: F401  (registers the commands on the app)
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from netinspect_cli.app import app
from typer.testing import CliRunner

from netinspect.compare.diff import LayerView, align_layers
from netinspect.errors import ConfigError, UsageError, WeightsError
from netinspect.pipeline.run import inspect_model
from netinspect.sources.config import read_config
from tests.conftest import one_line_error

MODELS = Path(__file__).parent / "models"
TINY = f"{MODELS / 'sources.py'}:Tiny"
SIZES = MODELS / "sizes_models.py"
runner = CliRunner()


def refused_quickly(path: Path) -> str:
    """The ConfigError read_config raises for ``path``, checked to come in under 5 s (well
    under 1 s on a quiet machine; the bombs below took 30 s and 1 GB before)."""
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        read_config(str(path))
    assert time.perf_counter() - start < 5
    return str(info.value)


# --- 5. YAML: size, depth, node count, alias and merge-key expansion -------------------------
def merge_bomb(levels: int) -> str:
    """579 bytes at 23 levels: each mapping merges the previous one twice. PyYAML's own
    flatten_mapping copies 2^levels pairs before anything can count them."""
    items = ["&a0 {x0: 1}"] + [f"&a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}" for i in range(1, levels)]
    return "<<: [" + ", ".join(items) + "]\nlayers: [ReLU]\n"


def test_merge_key_bomb_is_refused_while_reading(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(merge_bomb(21))  # 2^21 merged pairs: 8 s and 250 MB before the fix
    assert len(path.read_bytes()) < 600
    assert "expands to more than 50,000 values" in refused_quickly(path)


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\nlayers: [ReLU]\n")
    assert "expands to more than 50,000 values" in refused_quickly(path)


@pytest.mark.parametrize("opener", ["[", "{a: "])
def test_deep_nesting_is_refused(tmp_path: Path, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    path = tmp_path / "deep.yaml"
    path.write_text("layers: " + opener * 40_000 + "1" + closer * 40_000 + "\n")  # < 256 KiB
    assert "nested more than 50 levels deep" in refused_quickly(path)
    result = runner.invoke(app, ["inspect", str(path)])
    assert "nested more than 50 levels deep" in one_line_error(result)


def test_block_nesting_is_refused(tmp_path: Path) -> None:
    # Indentation nests too: 60 levels of mappings, 2 more spaces each.
    text = "".join(f"{'  ' * i}k{i}:\n" for i in range(60)) + "  " * 60 + "1\n"
    path = tmp_path / "indent.yaml"
    path.write_text(text)
    assert "nested more than 50 levels deep" in refused_quickly(path)


def test_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rec.yaml"
    path.write_text("a: &a [*a]\nlayers: [ReLU]\n")
    assert "through aliases" in refused_quickly(path)


def test_too_many_nodes_and_too_large_a_file(tmp_path: Path) -> None:
    many = tmp_path / "many.yaml"
    many.write_text("x: [" + ", ".join(["1"] * 6000) + "]\nlayers: [ReLU]\n")
    assert "more than 5,000 YAML nodes" in refused_quickly(many)
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * 300_000 + "\nlayers: [ReLU]\n")
    assert "larger than 256 KiB" in refused_quickly(big)
    result = runner.invoke(app, ["inspect", str(big)])
    assert "larger than 256 KiB" in one_line_error(result)


def test_nesting_up_to_the_limit_still_reads(tmp_path: Path) -> None:
    # 50 levels: the top mapping, the layers list, then 48 nested lists around ReLU.
    path = tmp_path / "deep_ok.yaml"
    path.write_text("layers: " + "[" * 48 + "ReLU" + "]" * 48 + "\n")
    node = read_config(str(path))
    assert node is not None
    value = node.plain()["layers"]
    depth = 0
    while isinstance(value, list):
        value, depth = value[0], depth + 1
    assert (value, depth) == ("ReLU", 48)


def test_merge_keys_merge_and_explicit_keys_win(tmp_path: Path) -> None:
    path = tmp_path / "merge.yaml"
    path.write_text(
        "layers:\n"
        "  - Conv2d: &conv {in_channels: 3, out_channels: 8, kernel_size: 3, padding: 1}\n"
        "  - Conv2d: {<<: *conv, in_channels: 8}\n"
        "input: 1x3x8x8\n"
    )
    node = read_config(str(path))
    assert node is not None
    second = node.plain()["layers"][1]["Conv2d"]
    assert second == {"in_channels": 8, "out_channels": 8, "kernel_size": 3, "padding": 1}
    report = inspect_model(str(path))
    # Conv2d(3, 8, 3): 3*8*9 + 8 = 224; Conv2d(8, 8, 3): 8*8*9 + 8 = 584.
    assert report.totals.params == 224 + 584
    assert report.outputs == ((1, 8, 8, 8),)


# --- 6. --weights: names/shapes/dtypes only on meta; bounded expansion -----------------------
def _deflated_copy(source: Path, target: Path) -> None:
    """The checkpoint's records re-zipped with DEFLATE (what the issue's 1.5 MB file was)."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))


def test_deflate_bomb_weights_are_refused(tmp_path: Path) -> None:
    plain, bomb = tmp_path / "plain.pt", tmp_path / "bomb.pt"
    # Zeros for a Linear(4, 3)-named state dict, but 1,000,000 of them: 4 MB that deflate to
    # a few KB. The shapes do not even match: the file must be refused before it is read.
    torch.save({"fc.weight": torch.zeros(1000, 1000), "fc.bias": torch.zeros(3)}, plain)
    _deflated_copy(plain, bomb)
    assert bomb.stat().st_size < 50_000
    with pytest.raises(WeightsError, match=r"expand to 4,00\d,\d{3} bytes"):
        inspect_model(TINY, ["1x4"], weights=str(bomb))
    result = runner.invoke(app, ["inspect", TINY, "-i", "1x4", "--weights", str(bomb)])
    assert "more than 2x" in one_line_error(result)


def test_on_meta_only_the_records_headers_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import netinspect.sources.weights as weights

    path = tmp_path / "w.pt"
    torch.save({"fc.weight": torch.ones(3, 4), "fc.bias": torch.ones(3)}, path)
    seen: list[Any] = []
    real_load = torch.load

    def spy(*args: Any, **kwargs: Any) -> Any:
        state = real_load(*args, **kwargs)
        seen.append((kwargs.get("map_location"), {k: v.device.type for k, v in state.items()}))
        return state

    monkeypatch.setattr(weights.torch, "load", spy)
    inspect_model(TINY, ["1x4"], weights=str(path))  # default: meta
    inspect_model(TINY, ["1x4"], weights=str(path), device="cpu")
    on_meta = ("meta", {"fc.weight": "meta", "fc.bias": "meta"})  # no value was read
    # On cpu, the memory estimate's meta pass comes first, then the real load.
    assert seen == [on_meta, on_meta, ("cpu", {"fc.weight": "cpu", "fc.bias": "cpu"})]


def test_a_legacy_checkpoint_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "legacy.pt"
    torch.save(
        {"fc.weight": torch.zeros(3, 4), "fc.bias": torch.zeros(3)},
        path,
        _use_new_zipfile_serialization=False,
    )
    assert inspect_model(TINY, ["1x4"], weights=str(path)).totals.params == 15


def test_a_wrong_shape_is_still_caught_on_meta(tmp_path: Path) -> None:
    path = tmp_path / "w.pt"
    torch.save({"fc.weight": torch.zeros(5, 4), "fc.bias": torch.zeros(3)}, path)
    with pytest.raises(WeightsError, match=r"fc\.weight.*\[5, 4\].*\[3, 4\]"):
        inspect_model(TINY, ["1x4"], weights=str(path))


# --- 7. diff alignment near-linear; sizes bounded, with progress -----------------------------
def _rows(blocks: int, *, insert_at: int | None = None, change_at: int | None = None) -> list:
    """``blocks`` repeats of Linear, ReLU, Dropout named blocks.i.j (3 rows each); optionally
    a LayerNorm row inserted before block ``insert_at`` and block ``change_at`` reshaped."""
    rows = []
    for i in range(blocks):
        if i == insert_at:
            rows.append(LayerView("extra", 0, "module", "LayerNorm", ((1, 8),), ((1, 8),), 16, 16))
        shape = ((1, 9),) if i == change_at else ((1, 8),)
        for j, kind in enumerate(("Linear", "ReLU", "Dropout")):
            params = 72 if kind == "Linear" else 0
            rows.append(LayerView(f"blocks.{i}.{j}", 0, "module", kind, shape, shape, params, 0))
    return rows


def test_diff_of_12k_rows_is_fast_and_minimal() -> None:
    old = _rows(4000)
    new = _rows(4000, insert_at=1333, change_at=2666)
    start = time.perf_counter()
    aligned = align_layers(old, new)
    elapsed = time.perf_counter() - start
    statuses = [row.status for row in aligned]
    # One inserted row, the three rows of block 2666 changed, the other 11,997 the same.
    assert statuses.count("added") == 1 and statuses.count("removed") == 0
    assert [r.name for r in aligned if r.status == "changed"] == [
        "blocks.2666.0", "blocks.2666.1", "blocks.2666.2",
    ]  # fmt: skip
    assert statuses.count("same") == 11_997
    assert elapsed < 5  # 0.1 s quiet; SequenceMatcher took 12-30 s


def test_diff_with_renumbered_rows_after_an_insertion() -> None:
    # An nn.Sequential of 3000 Linear layers with one inserted at 1000: every later child is
    # renumbered (features.1000 -> features.1001) and must read as renamed, not changed.
    def seq(n: int, insert: int | None = None) -> list:
        kinds = ["Linear"] * n
        if insert is not None:
            kinds.insert(insert, "ReLU")
        return [
            LayerView(
                f"features.{i}", 0, "module", k, ((1, 4),), ((1, 4),), 20 * (k == "Linear"), 0
            )
            for i, k in enumerate(kinds)
        ]

    aligned = align_layers(seq(3000), seq(3000, insert=1000))
    counts = {s: [r.status for r in aligned].count(s) for s in ("same", "renamed", "added")}
    assert counts == {"same": 1000, "renamed": 2000, "added": 1}
    assert next(r for r in aligned if r.status == "renamed").old_name == "features.1000"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 5), max_size=60),
    st.lists(st.integers(0, 5), max_size=60),
    st.booleans(),
)
def test_the_fast_alignment_is_a_valid_edit_script(a: list[int], b: list[int], ids: bool) -> None:
    """Forced onto the long-input path: equal blocks really are equal, and replaying the
    opcodes turns a into b."""
    import netinspect.compare.align as align

    saved = align.SMALL_PRODUCT
    align.SMALL_PRODUCT = 0
    try:
        anchors = (list(range(len(a))), list(range(len(b)))) if ids else None
        ops = align.opcodes(a, b, anchors)
    finally:
        align.SMALL_PRODUCT = saved
    rebuilt: list[int] = []
    position = 0
    for tag, i1, i2, j1, j2 in ops:
        assert i1 == position
        position = i2
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
        rebuilt += b[j1:j2]
    assert position == len(a) and rebuilt == b


def test_a_shuffled_long_diff_stays_bounded() -> None:
    # No common prefix or suffix and every key repeated: the worst case for the anchors.
    rng = random.Random(5)
    old = _rows(2000)
    new = old[:]
    rng.shuffle(new)
    start = time.perf_counter()
    aligned = align_layers(old, new)
    assert time.perf_counter() - start < 10
    kept = [r for r in aligned if r.old is not None and r.new is not None]
    assert len(aligned) == 2 * 6000 - len(kept)


@pytest.mark.parametrize("up_to", ["100001", "1" + "0" * 26])
def test_sizes_up_to_above_the_cap_is_refused(up_to: str) -> None:
    result = runner.invoke(
        app, ["sizes", f"{SIZES}:FullyConv", "-i", "1x3x20x20", "--up-to", up_to]
    )
    assert "above the limit of 100,000" in one_line_error(result)
    from netinspect.pipeline.probe import probe_sizes

    with pytest.raises(UsageError, match="above the limit"):
        probe_sizes(f"{SIZES}:FullyConv", "1x3x20x20", up_to=int(up_to))


def test_sizes_reports_progress_once_per_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from netinspect.pipeline.probe import probe_sizes

    calls: list[tuple[int, str]] = []
    report = probe_sizes(
        f"{SIZES}:Tokens", "1x10:int64", progress=lambda n, w: calls.append((n, w))
    )
    assert [n for n, _ in calls] == list(range(1, report.probes + 1))
    assert calls[0][1] == "the given input" and calls[1][1].startswith("L=")

    # Off a terminal, a long run writes a line every LOG_PROGRESS_EVERY_S seconds.
    import netinspect_cli.sizes_cmd as sizes_cmd

    monkeypatch.setattr(sizes_cmd, "LOG_PROGRESS_EVERY_S", 0.0)
    result = runner.invoke(
        app, ["sizes", f"{SIZES}:Tokens", "-i", "1x10:int64", "--method", "probe"]
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == report.probes
    assert all(line.startswith("netinspect: sizes: ") for line in lines)
    # The default interval: a short run is silent.
    monkeypatch.undo()
    assert runner.invoke(app, ["sizes", f"{SIZES}:Tokens", "-i", "1x10:int64"]).stderr == ""
