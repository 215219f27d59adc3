"""Which webhook URLs may be targeted. Pure, with an injectable resolver.

https only by default; every address that is not globally routable (private,
loopback, link-local, shared 100.64.0.0/10, reserved, multicast, ...) is refused
unless the allowlist names the host, the address or a network containing it
(server-side request forgery protection). The check runs when subscribing and
again at each delivery (:func:`pick_address`), whose answer is the address the
delivery then connects to, so a name that re-resolves elsewhere (DNS rebinding)
gains nothing.
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
    pick_address(url, allow_http=allow_http, allowlist=allowlist, resolve=resolve)
    return url


def pick_address(
    url: str,
    *,
    allow_http: bool,
    allowlist: Sequence[str],
    resolve: Resolver = system_resolver,
) -> str:
    """Resolve the URL's host now and return the checked address to connect to.

    Every address the name resolves to must pass, not only the one used: a
    resolver that answers with a mix is refused.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UrlRefused("URL must be absolute http(s) with a host")
    if parts.scheme == "http" and not allow_http:
        raise UrlRefused("URL must use https")
    host = parts.hostname
    addresses = [host] if _is_ip(host) else resolve(host)
    if not addresses:
        raise UrlRefused(f"host {host!r} does not resolve")
    if not _allowed(host, allowlist):
        for address in addresses:
            if _internal(address) and not _allowed(address, allowlist):
                raise UrlRefused(f"{host} resolves to {address}, a private or reserved address")
    return addresses[0]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _internal(address: str) -> bool:
    """Anything but a globally routable unicast address (100.64.0.0/10 included)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return not ip.is_global or ip.is_multicast


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
