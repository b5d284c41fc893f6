"""One error hierarchy for the library; the CLI maps it to exit codes in one place.

Exit codes (documented in docs/getting-started.md):
  0  success
  1  a check found a regression (``check``) or a config is invalid (``validate``)
  2  usage error: unknown model, malformed input spec, bad config, missing file, bad weights, ...
  3  the model's forward pass raised (the partial report is still produced)
  130 interrupted (Ctrl-C); 143 terminated (SIGTERM)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netinspect.checkpoint_records import WeightsReport
    from netinspect.records import InspectionReport


def exception_text(exc: BaseException) -> str:
    """``str(exc)``, or a stand-in when the exception's own ``__str__`` raises: exceptions
    from model code are user code, and describing one must not become a second failure."""
    try:
        return str(exc)
    except KeyboardInterrupt:
        raise
    except BaseException as inner:  # a broken __str__ may raise anything, SystemExit included
        return f"<{type(exc).__name__}.__str__ raised {type(inner).__name__}>"


# A library's message can list hundreds of names on one line (transformers' "should contain one
# of ..."): a one-line error keeps this many characters of it.
MESSAGE_CHARS = 300


def _message_line(exc: BaseException) -> str:
    """The exception's text as one line: its first line, joined with the next ones while a line
    ends in ':' (the reason follows it, as in huggingface_hub's validation errors), clipped
    to ``MESSAGE_CHARS``. Empty when the text is."""
    lines = [ln.strip() for ln in exception_text(exc).strip().splitlines() if ln.strip()]
    text = lines[0] if lines else ""
    for line in lines[1:]:
        if not text.endswith(":"):
            break
        text = f"{text} {line}"
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1].rstrip() + "…"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's text, or its type's name when it has none."""
    return _message_line(exc) or type(exc).__name__


def describe_exception(exc: BaseException) -> str:
    """``Type: first line`` for one-line messages (``Type`` alone when the text is empty)."""
    line = _message_line(exc)
    return f"{type(exc).__name__}: {line}" if line else type(exc).__name__


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised by the CLI's signal handler. A KeyboardInterrupt, so that whatever
    cleans up after Ctrl-C (temp files, hooks, the model's mode) cleans up after it too."""


class NetinspectError(Exception):
    """Base class. ``exit_code`` is what the CLI exits with."""

    exit_code = 2


class UsageError(NetinspectError):
    """Something the user asked for cannot be done as asked."""


class ModelNotFound(UsageError):
    def __init__(self, target: str, suggestions: list[str] | None = None, detail: str = "") -> None:
        self.target = target
        self.suggestions = suggestions or []
        message = detail or f"unknown model {target!r}"
        if self.suggestions:
            message += " (did you mean " + ", ".join(self.suggestions) + "?)"
        super().__init__(message)


class InputSpecError(UsageError):
    """A malformed ``--input`` spec; ``position`` is the 0-based offending character."""

    def __init__(self, spec: str, reason: str, position: int | None = None) -> None:
        self.spec = spec
        self.reason = reason
        self.position = position
        where = f" at position {position}" if position is not None else ""
        shown = spec if len(spec) <= 60 else spec[:57] + "..."
        super().__init__(f"malformed --input {shown!r}: {reason}{where}")


class ConfigError(UsageError):
    """A config file problem, located at ``file:line:col`` (1-based) when known."""

    def __init__(
        self, message: str, file: str | None = None, line: int | None = None, col: int | None = None
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.col = col
        where = ""
        if file is not None:
            where = file
            if line is not None:
                where += f":{line}"
                if col is not None:
                    where += f":{col}"
            where += ": "
        super().__init__(f"{where}{message}")


class ConfigErrors(ConfigError):
    """Every problem found in one config file, in file order (as linters report). Its text is
    the first error with a count of the others; ``errors`` holds each one."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = tuple(sorted(errors, key=lambda e: (e.line or 0, e.col or 0)))
        first = self.errors[0]
        more = len(self.errors) - 1
        super().__init__(
            first.message + (f" (and {more} more error(s) in this file)" if more else ""),
            first.file,
            first.line,
            first.col,
        )


class WeightsError(UsageError):
    """A ``--weights`` file that is missing, unreadable or does not fit the model."""


class WeightsMismatch(WeightsError):
    """The checkpoint's tensors do not fit the model. ``report`` (a ``WeightsReport``) holds
    one row per tensor; the CLI prints it on stdout and exits 2."""

    def __init__(self, path: str, report: WeightsReport) -> None:
        from netinspect.checkpoint_serialize import weight_counts

        counts = weight_counts(report)
        total = sum(1 for r in report.rows if r.model_shape is not None)
        problems = [f"{n} {status}" for status, n in counts.items() if n and status != "loaded"]
        examples = []
        for row in [r for r in report.rows if r.status != "loaded"][:2]:
            ckpt = list(row.checkpoint_shape) if row.checkpoint_shape is not None else "absent"
            model = list(row.model_shape) if row.model_shape is not None else "absent"
            examples.append(f"{row.key}: {ckpt} in the checkpoint, {model} in the model")
        super().__init__(
            f"weights in {path} do not match the model: {counts['loaded']} of {total} tensors "
            f"match ({', '.join(problems)}; {'; '.join(examples)}"
            f"{'; ...' if sum(counts.values()) - counts['loaded'] > 2 else ''}); "
            "--weights-partial loads the ones that match"
        )
        self.report = report


class DeviceError(UsageError):
    """A device that is not available (``--device cuda`` without CUDA) or cannot be parsed."""


class BaselineError(UsageError):
    """A missing, corrupt or too-new baseline file for ``check``."""


class InputTooLarge(UsageError):
    """Refused up front: the dummy input would not fit in memory on a real device."""


class ForwardFailed(NetinspectError):
    """The model raised during the inspection pass. ``report`` holds the layers that ran."""

    exit_code = 3

    def __init__(self, message: str, report: InspectionReport) -> None:
        self.report = report
        super().__init__(message)

    def _render_traceback_(self) -> list[str]:
        """IPython shows these lines instead of a traceback: the diagnosis and where the
        partial report is. Raising here makes IPython print the full traceback instead, which
        ``NETINSPECT_TRACEBACK=1`` asks for."""
        from netinspect.display import forward_failed_traceback

        lines = forward_failed_traceback(self)
        if lines is None:
            raise NotImplementedError("NETINSPECT_TRACEBACK=1: the full traceback")
        return lines


class TrainingStepFailed(NetinspectError):
    """The model raised during the ``--train`` step (its forward, the loss, backward or the
    optimizer step), after the inspection pass itself went through."""

    exit_code = 3
