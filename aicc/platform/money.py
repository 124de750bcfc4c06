"""Money is integer fen (分) in storage and on the wire; reports show 万元 (10,000 yuan)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FEN_PER_YUAN = 100
FEN_PER_WAN_YUAN = 1_000_000


def yuan_to_fen(yuan: int) -> int:
    if not isinstance(yuan, int):
        raise TypeError("yuan must be an integer")
    return yuan * FEN_PER_YUAN


def fen_to_wan_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / FEN_PER_WAN_YUAN).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def format_wan_yuan(fen: int) -> str:
    return f"{fen_to_wan_yuan(fen):,.2f}"


def format_yuan(fen: int) -> str:
    """``150`` → ``1.50``, ``-150`` → ``-1.50``, ``200000000`` → ``2,000,000`` (whole yuan: no cents)."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{yuan:,}" if cents == 0 else f"{sign}{yuan:,}.{cents:02d}"
