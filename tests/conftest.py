from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
MODELS = HERE / "models"
GOLDEN = HERE / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite tests/golden/* from the current output instead of comparing.",
    )
    parser.addoption(
        "--update-screenshots",
        action="store_true",
        default=False,
        help="Rewrite docs/*.png (the README's pictures) from the browser tests.",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def report_validator() -> Any:
    import jsonschema

    from netinspect.schema import report_schema

    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def model_target(name: str) -> str:
    """``tests/models/core_models.py:Name`` as an absolute-path target."""
    return f"{MODELS / 'core_models.py'}:{name}"


def load_json(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    return data


def write_config(tmp_path: Path, text: str, name: str = "model.yaml") -> str:
    """Write a config file for a test; returns its path as a string."""
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.fixture(autouse=True)
def _piped_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI output as when piped: 100 columns, no colour. pytest-xdist workers inherit a
    COLUMNS of their own, which would make the width (and every folded row) depend on how the
    suite was started; tests that need a width set COLUMNS themselves."""
    monkeypatch.delenv("COLUMNS", raising=False)


def one_line_error(result: Any, code: int = 2) -> str:
    """The single stderr line of a refused command (a check's table may still be on stdout)."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("netinspect: error: ")
    return lines[0]
