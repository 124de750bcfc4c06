"""Where a call comes from: the peer's address (gRPC ``context.peer()``, without the port), or the
client a trusted proxy names in ``x-forwarded-for`` — only when the direct peer is one of the
proxies ``AICC_TRUSTED_PROXIES`` lists; anyone else's header is ignored (it is the caller's word)."""

from __future__ import annotations

import ipaddress


def host_of(peer: str) -> str:
    """``ipv4:10.0.0.7:51234`` → ``10.0.0.7``; ``ipv6:[::1]:51234`` → ``::1``; else as given."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return peer


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def caller_source(peer: str, metadata: dict[str, str], trusted_proxies: frozenset[str]) -> str:
    """The source address of a call. Behind trusted proxies, the right-most ``x-forwarded-for``
    entry that is not itself a trusted proxy (entries to its left were written by the client)."""
    host = host_of(peer)
    if host not in trusted_proxies:
        return host
    hops = [h.strip() for h in metadata.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted_proxies:
            return hop if _is_ip(hop) else host
    return host


def parse_proxies(text: str) -> frozenset[str]:
    return frozenset(p.strip() for p in text.split(",") if p.strip())
