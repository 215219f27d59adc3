"""Reason templates: literal text with ``{name}`` or ``{name:format}`` placeholders.

Parsed by hand (no ``str.format``, no attribute access, no regex from config):
a name is a measure (or ``trend``/``coverage`` in the model-level templates), a
format comes from the closed set below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


FORMATS: dict[str, Callable[[float], str]] = {
    "": _plain,
    "int": lambda v: str(round(v)),
    "0f": lambda v: f"{v:.0f}",
    "1f": lambda v: f"{v:.1f}",
    "pct": lambda v: f"{v:.0%}",
    "drop_pct": lambda v: str(round(100 * (1 - v))),  # a ratio below 1 as "down N%"
    "abs0f": lambda v: f"{abs(v):.0f}",
}

# literal text, or (name, format)
Piece = str | tuple[str, str]


def parse(template: str) -> tuple[list[Piece], str | None]:
    """The template's pieces, or an error message."""
    pieces: list[Piece] = []
    rest = template
    while rest:
        start = rest.find("{")
        if start < 0:
            if "}" in rest:
                return [], "unmatched '}'"
            pieces.append(rest)
            break
        if "}" in rest[:start]:
            return [], "unmatched '}'"
        end = rest.find("}", start)
        if end < 0:
            return [], "unmatched '{'"
        if start:
            pieces.append(rest[:start])
        name, _, fmt = rest[start + 1 : end].partition(":")
        if not name.isidentifier() or not name.islower():
            return [], f"placeholder {{{rest[start + 1 : end]}}} is not a name"
        if fmt not in FORMATS:
            return [], f"unknown format {fmt!r} (one of: {', '.join(sorted(FORMATS)[1:])})"
        pieces.append((name, fmt))
        rest = rest[end + 1 :]
    return pieces, None


def names(pieces: list[Piece]) -> list[str]:
    return [piece[0] for piece in pieces if isinstance(piece, tuple)]


def render(pieces: tuple[Piece, ...], values: Mapping[str, float | None]) -> str:
    out = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
        else:
            value = values.get(piece[0])
            out.append("unknown" if value is None else FORMATS[piece[1]](value))
    return "".join(out)
