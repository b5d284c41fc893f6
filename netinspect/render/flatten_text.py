"""Lines about a missing flatten point and about the path to the head (table, markdown, html)."""

from __future__ import annotations

from netinspect.records import ChainLink, FlattenPoint, InspectionReport

# Token reshapes shown under "Flatten point: none" (the JSON lists up to 16).
_SHOWN_TOKEN_RESHAPES = 3


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def flatten_absent_lines(report: InspectionReport) -> list[str]:
    """``none (why)`` and the token reshapes, labelled; after a failed forward ``not reached``."""
    search = report.flatten_search
    if search is not None and search.absent_reason:
        reason = search.absent_reason
    elif report.error is not None:
        # A report saved before the reason was: the pass stopped before any flatten.
        where = report.error.name or "(root)" if report.error.name is not None else "a row"
        reason = f"not reached: the forward failed at {where}"
    else:
        reason = "no row drops from >=3-D to 2-D"
    head = reason if reason.startswith("not reached") else f"none ({reason})"
    lines = [head]
    tokens = search.token_reshapes if search is not None else ()
    for t in tokens[:_SHOWN_TOKEN_RESHAPES]:
        lines.append(
            f"token reshape (not a flatten point): {t.name} {_shape(t.input_shape)} -> "
            f"{_shape(t.output_shape)}"
        )
    if len(tokens) > _SHOWN_TOKEN_RESHAPES:
        lines.append(f"... and {len(tokens) - _SHOWN_TOKEN_RESHAPES} more token reshapes")
    return lines


def _links(links: tuple[ChainLink, ...]) -> str:
    return ", ".join(f"{c.name} ({c.type.rsplit('.', 1)[-1]})" for c in links)


def chain_line(point: FlattenPoint) -> str | None:
    """``through fc_norm (LayerNorm), head_drop (Dropout)``: the rows between the flatten
    point and its head, when there are any."""
    if len(point.consumer_chain) < 2:
        return None
    return "through " + _links(point.consumer_chain[:-1])


def headless_line(point: FlattenPoint) -> str | None:
    """With no consumer: where the features go instead (a features-only model's output)."""
    if point.consumers or point.consumer is not None or not point.consumer_chain:
        return None
    return f"no layer with parameters reads it: it passes through {_links(point.consumer_chain)}"
