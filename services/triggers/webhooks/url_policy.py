"""Which webhook URLs may be targeted. Pure, with an injectable resolver.

https only by default; private, loopback, link-local, reserved and multicast
targets are refused unless the allowlist names the host, the address or a
network containing it (server-side request forgery protection).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

Resolver = Callable[[str], list[str]]


class UrlRefused(ValueError):
    """The URL may not be used as a webhook endpoint; the message says why."""


def system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as error:
        raise UrlRefused(f"host {host!r} does not resolve: {error}") from None
    return sorted({str(info[4][0]) for info in infos})


def check_url(
    url: str,
    *,
    allow_http: bool,
    allowlist: Sequence[str],
    resolve: Resolver = system_resolver,
) -> str:
    """Return the URL when it may be targeted; raise ``UrlRefused`` otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UrlRefused("URL must be absolute http(s) with a host")
    if parts.scheme == "http" and not allow_http:
        raise UrlRefused("URL must use https")
    host = parts.hostname
    if _allowed(host, allowlist):
        return url
    for address in resolve(host):
        if _internal(address) and not _allowed(address, allowlist):
            raise UrlRefused(f"{host} resolves to {address}, a private or reserved address")
    return url


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )


def _allowed(host_or_ip: str, allowlist: Sequence[str]) -> bool:
    for entry in allowlist:
        if entry == host_or_ip:
            return True
        try:
            if ipaddress.ip_address(host_or_ip) in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False
