"""List pages the AIP-158 way: ``page_size`` (a default when 0, a maximum), ``page_token`` (opaque,
from the previous answer) and ``next_page_token`` (empty on the last page).

A page token is bound to the caller who received it and to the filter it was issued for: it carries
an HMAC over (caller, RPC, filter, cursor), so a token replayed by another user, with another filter
or after tampering is refused (INVALID_ARGUMENT on ``page_token``) rather than answered. The key is
the service's own secret (its audit key), the same on every replica, so any replica continues a
listing. No transport and no SQL here: stores page with a cursor (a list of JSON values)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from aicc.platform.errors import FieldViolation, InvalidArgument

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class PageRequest:
    size: int
    after: list[object] | None = None  # the cursor: where the previous page ended


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: list[object] | None = None


def _invalid(field: str, en: str, zh: str) -> InvalidArgument:
    return InvalidArgument(
        f"request is invalid: {field}: {en}",
        f"请求参数不合法：{field}：{zh}",
        reason="INVALID_ARGUMENT",
        violations=[FieldViolation(field, en, zh)],
    )


def page_size(requested: int, *, default: int = DEFAULT_PAGE_SIZE, maximum: int = MAX_PAGE_SIZE) -> int:
    """0 means the default; larger than the maximum is capped to it (AIP-158); negative is refused."""
    if requested < 0:
        raise _invalid("page_size", "must not be negative", "不得为负数")
    if requested == 0:
        return default
    return min(requested, maximum)


class PageTokens:
    """Issues and checks page tokens for one service (key: a secret shared by its replicas)."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.sha256(b"aicc-page-token\0" + key).digest()

    def _mac(self, caller: str, rpc: str, query: Mapping[str, object], cursor: Sequence[object]) -> str:
        body = json.dumps(
            [caller, rpc, dict(query), list(cursor)], sort_keys=True, ensure_ascii=False, default=str
        )
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(
        self, cursor: Sequence[object] | None, *, caller: str, rpc: str, query: Mapping[str, object]
    ) -> str:
        if not cursor:
            return ""
        payload = json.dumps(
            {"c": list(cursor), "m": self._mac(caller, rpc, query, cursor)}, ensure_ascii=False
        )
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def read(
        self, token: str, *, caller: str, rpc: str, query: Mapping[str, object], size: int
    ) -> PageRequest:
        """The page a request asks for; a token not issued to this caller for this filter is refused."""
        if not token:
            return PageRequest(size)
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            doc = json.loads(raw)
            cursor, mac = doc["c"], doc["m"]
            if not isinstance(cursor, list) or not isinstance(mac, str):
                raise ValueError("shape")
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise _invalid("page_token", "is not a page token of this list", "不是本列表的分页令牌") from None
        if not hmac.compare_digest(mac, self._mac(caller, rpc, query, cursor)):
            raise _invalid(
                "page_token",
                "was issued for another caller or another filter; start again without it",
                "该分页令牌属于其他用户或其他筛选条件，请不带令牌重新查询",
            )
        return PageRequest(size, cursor)
