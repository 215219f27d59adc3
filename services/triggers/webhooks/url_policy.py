"""Which webhook URLs may be targeted. Pure, with an injectable resolver.

https only by default; every address that is not globally routable is refused
unless the allowlist names the host, the address or a network containing it
(server-side request forgery protection). The check runs when subscribing and
again at each delivery (:func:`judge`), whose answer is the address the
delivery then connects to, so a name that re-resolves elsewhere (DNS rebinding)
gains nothing. Names are resolved off the event loop, bounded in time and in
threads (:mod:`services.triggers.webhooks.dns`).

The refusals are an explicit list of networks, not ``is_global`` alone (which
is kept as a second opinion): before Python 3.13 it calls site-local, NAT64,
6to4 and IPv4-compatible addresses global, whatever they lead to. An IPv6
address that carries an IPv4 one (mapped, compatible, translated, NAT64, 6to4,
Teredo) is judged as the IPv4 address it carries, since that is where a
translating network delivers it.

A refusal never says what a name resolved to: the caller would learn the
internal address of any name (a DNS oracle). It names the setting that would
allow it instead.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

Resolver = Callable[[str], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOW_HTTP_SETTING = "VIGIL_WEBHOOKS__ALLOW_HTTP"
ALLOWLIST_SETTING = "VIGIL_WEBHOOKS__ALLOWLIST"
ALLOWLIST_FORMAT = (
    "a JSON list of host names, IP addresses or CIDR networks,"
    ' e.g. ["hooks.internal", "10.20.0.0/16"]'
)

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
DENIED_V4 = (
    _V4("0.0.0.0/8"),  # "this network", unspecified
    _V4("10.0.0.0/8"),  # private
    _V4("100.64.0.0/10"),  # shared address space (carrier-grade NAT)
    _V4("127.0.0.0/8"),  # loopback
    _V4("169.254.0.0/16"),  # link-local (cloud metadata services)
    _V4("172.16.0.0/12"),  # private
    _V4("192.0.0.0/24"),  # IETF protocol assignments
    _V4("192.0.2.0/24"),  # documentation (TEST-NET-1)
    _V4("192.88.99.0/24"),  # 6to4 relay anycast
    _V4("192.168.0.0/16"),  # private
    _V4("198.18.0.0/15"),  # benchmarking
    _V4("198.51.100.0/24"),  # documentation (TEST-NET-2)
    _V4("203.0.113.0/24"),  # documentation (TEST-NET-3)
    _V4("224.0.0.0/4"),  # multicast
    _V4("240.0.0.0/4"),  # reserved, broadcast
)
DENIED_V6 = (
    _V6("::/128"),  # unspecified
    _V6("::1/128"),  # loopback
    _V6("64:ff9b:1::/48"),  # local-use NAT64: where it leads is the local network's choice
    _V6("100::/64"),  # discard-only
    _V6("2001::/23"),  # IETF protocol assignments (Teredo is judged by its IPv4 first)
    _V6("2001:db8::/32"),  # documentation
    _V6("3fff::/20"),  # documentation
    _V6("5f00::/16"),  # segment routing identifiers
    _V6("fc00::/7"),  # unique local
    _V6("fe80::/10"),  # link-local
    _V6("fec0::/10"),  # site-local (deprecated, still routed inside sites)
    _V6("ff00::/8"),  # multicast
)
GLOBAL_UNICAST_V6 = _V6("2000::/3")  # everything else is unallocated or special
_COMPATIBLE = _V6("::/96")  # ::a.b.c.d (deprecated IPv4-compatible)
_TRANSLATED = _V6("::ffff:0:0:0/96")  # ::ffff:0:a.b.c.d (SIIT)
_NAT64 = _V6("64:ff9b::/96")  # well-known NAT64 prefix


class UrlRefused(ValueError):
    """The URL may not be used as a webhook endpoint; the message says why.

    ``address`` is the refused address, for the operator's delivery log only.
    """

    def __init__(self, message: str, *, address: str | None = None) -> None:
        super().__init__(message)
        self.address = address


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
    host = target_host(url, allow_http=allow_http)
    judge(host, [host] if is_ip(host) else resolve(host), allowlist)
    return url


def target_host(url: str, *, allow_http: bool) -> str:
    """The URL's host, once its scheme is one that may be used."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UrlRefused("URL must be absolute http(s) with a host")
    if parts.scheme == "http" and not allow_http:
        raise UrlRefused(
            f"URL must use https (set {ALLOW_HTTP_SETTING}=true to allow http,"
            " e.g. for a receiver on a trusted network)"
        )
    return parts.hostname


def judge(host: str, addresses: Sequence[str], allowlist: Sequence[str]) -> str:
    """The address to connect to, when every address ``host`` resolved to may be targeted.

    Every address must pass, not only the one used: a resolver that answers with
    a mix is refused.
    """
    if not addresses:
        raise UrlRefused(f"host {host!r} does not resolve")
    if not _allowed(host, allowlist):
        for address in addresses:
            if internal(address) and not _allowed(address, allowlist):
                raise UrlRefused(
                    "its host resolves to a private or reserved address; to allow it add"
                    f" the host to {ALLOWLIST_SETTING} (format: {ALLOWLIST_FORMAT})",
                    address=address,
                )
    return addresses[0]


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def internal(address: str) -> bool:
    """Anything but a globally routable unicast address, judged by what it carries."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv4Address):
        return ip.is_multicast or not ip.is_global or any(ip in net for net in DENIED_V4)
    carried = embedded_ipv4(ip)
    if carried:
        return any(internal(str(v4)) for v4 in carried)
    return (
        ip not in GLOBAL_UNICAST_V6
        or any(ip in net for net in DENIED_V6)
        or not ip.is_global
        or ip.is_multicast
    )


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to, when it is one of the carrying forms."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return list(ip.teredo)  # the server and the (de-obfuscated) client
    if any(ip in net for net in (_COMPATIBLE, _TRANSLATED, _NAT64)):
        return [ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)]
    return []


def _allowed(host_or_ip: str, allowlist: Sequence[str]) -> bool:
    """Named by the allowlist: the host, the address, or the IPv4 address it carries."""
    if host_or_ip in allowlist:
        return True
    if not is_ip(host_or_ip):
        return False
    ip = ipaddress.ip_address(host_or_ip)
    candidates = [ip, *embedded_ipv4(ip)] if isinstance(ip, ipaddress.IPv6Address) else [ip]
    for entry in allowlist:
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue  # a host name
        if any(candidate in network for candidate in candidates):
            return True
    return False
