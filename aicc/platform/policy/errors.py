"""What is wrong with a policy file, said the way an operator can act on it: every problem at
once, each with its path in the file ("tiers[1].min_score") and, where known, its line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

__all__ = ["PolicyError", "collect_errors", "join_path", "with_line"]


class PolicyError(ValueError):
    """A policy file is invalid. ``errors`` lists every problem as ``(path, message)``."""

    def __init__(self, errors: Sequence[tuple[str, str]], source: str = "") -> None:
        self.errors: list[tuple[str, str]] = [(str(p), str(m)) for p, m in errors]
        self.source = source
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"{self.source}: " if self.source else ""
        lines = [f"{head}{len(self.errors)} problem(s) in policy / 政策文件有误:"]
        lines += [f"  {p or '<file>'}: {m}" for p, m in self.errors]
        return "\n".join(lines)


def _loc_to_path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith("["):
            out += str(part)
        else:
            out += ("." if out else "") + str(part)
    return out


def join_path(base: str, rel: str) -> str:
    """``base`` extended by ``rel``, a key ("a.b") or an index ("[0]") relative to it."""
    if not rel:
        return base
    if rel.startswith("["):
        return base + rel
    return f"{base}.{rel}" if base else rel


def collect_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """Every problem pydantic found, as ``(path, message)``; a :class:`PolicyError` raised by a
    validator contributes each of its problems, with its paths made relative to the file."""
    errs: list[tuple[str, str]] = []
    for e in exc.errors(include_url=False):
        # drop the union/tag segments pydantic inserts into loc (e.g. 'int', 'function-plain[...]')
        loc = [
            p
            for p in e["loc"]
            if isinstance(p, int) or not re.match(r"^(int|none|function-[a-z]+\[)", str(p))
        ]
        base = _loc_to_path(loc)
        inner = (e.get("ctx") or {}).get("error")
        if isinstance(inner, PolicyError):
            errs += [(join_path(base, p), m) for p, m in inner.errors]
            continue
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (not part of the policy schema) / 未知字段"
        elif e["type"] == "missing":
            msg = "required key is missing / 缺少必填字段"
        errs.append((base, msg))
    # pydantic reports both alternatives of 'int | None'; keep one message per path
    return list(dict.fromkeys(errs))


def with_line(path: str, msg: str, lines: dict[str, int]) -> str:
    """``msg`` prefixed with the line of ``path`` (or of its nearest enclosing path) in ``lines``."""
    probe = path
    while probe:
        if probe in lines:
            return f"line {lines[probe]}: {msg}"
        shorter = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", probe)
        probe = shorter if shorter != probe else ""
    return msg
