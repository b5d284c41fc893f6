"""Column widths for the Rich tables, so that no word is ever split.

Rich folds a cell that is narrower than a word in the middle of the word (``BatchNo`` /
``rm2d``). So the tables fix every column's width themselves: a column is at least as wide as
the widest thing that must not split (a type name, one shape, a number, a header), and the
layer name gets what is left, up to its full length. A cell that is still too long is folded
here, only between its pieces: a dotted name after a dot (``encoder.layers.`` / ``mlp``),
several shapes between shapes. When even the narrowest layout is wider than the terminal, the
table is printed wider and the terminal wraps its lines: still no word is split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from io import StringIO

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

# One piece of a cell: (what separates it from the piece before on the same line, its text,
# its style). Pieces never split; a line break may come only between two of them.
Piece = tuple[str, str, str]


def name_pieces(name: str, style: str = "") -> list[Piece]:
    """``features.0.conv`` as ``features.``, ``0.``, ``conv``: a name folds only after a dot."""
    parts = name.split(".")
    return [("", part + ("." if i < len(parts) - 1 else ""), style) for i, part in enumerate(parts)]


def word_pieces(words: Sequence[str], style: str = "") -> list[Piece]:
    """Pieces joined by a space (several shapes in one cell, ``+2 more``)."""
    return [(" ", word, style) for word in words]


def min_width(pieces: Sequence[Piece], indent: str = "") -> int:
    """The narrowest the cell can be: its indent and its longest piece."""
    return cell_len(indent) + max((cell_len(body) for _, body, _ in pieces), default=0)


def full_width(pieces: Sequence[Piece], indent: str = "") -> int:
    """The cell on one line."""
    total = sum(cell_len(sep) + cell_len(body) for sep, body, _ in pieces)
    return cell_len(indent) + total - (cell_len(pieces[0][0]) if pieces else 0)


def fold(pieces: Sequence[Piece], width: int, indent: str = "") -> Text:
    """The pieces as a Text no wider than ``width`` (unless one piece is), broken only between
    pieces; continuation lines keep ``indent``."""
    text = Text(indent)
    used = cell_len(indent)
    for n, (sep, body, style) in enumerate(pieces):
        size = cell_len(body)
        if n == 0:
            pass
        elif used + cell_len(sep) + size <= width:
            text.append(sep)
            used += cell_len(sep)
        else:
            text.append("\n" + indent)
            used = cell_len(indent)
        text.append(body, style=style)
        used += size
    return text


def fit_widths(
    minimums: Sequence[int], naturals: Sequence[int], budget: int, grow: Sequence[int]
) -> list[int]:
    """Column widths: each its minimum, then the columns in ``grow`` (in that order) widened
    towards their natural width while the budget lasts."""
    widths = list(minimums)
    spare = budget - sum(widths)
    for i in grow:
        if spare <= 0:
            break
        extra = min(spare, naturals[i] - widths[i])
        if extra > 0:
            widths[i] += extra
            spare -= extra
    return widths


def table_overhead(make_table: Callable[[], Table], columns: int) -> int:
    """Characters a table adds around its cells (edges, padding, separators), measured by
    rendering it with one-character columns: the layout then counts the real spacing, not an
    assumed one space per gap."""
    table = make_table()
    table.title = table.caption = None
    for _ in range(columns):
        table.add_column(width=1, no_wrap=True)
    table.add_row(*["x"] * columns)
    buffer = StringIO()
    # ``force_jupyter=False``: in a notebook kernel Rich would display the table in the cell
    # instead of writing it to the buffer.
    Console(file=buffer, width=10 * columns + 100, color_system=None, force_jupyter=False).print(
        table
    )
    longest = max(cell_len(line) for line in buffer.getvalue().splitlines())
    return longest - columns
