"""The HTTP transport of webhook deliveries: check the target at send time, pin it.

Each request's host is resolved and checked by the URL policy when it is sent,
and the connection goes to the address that was checked: the URL's host is
replaced by that address while the ``Host`` header and the TLS server name (SNI,
and so certificate verification) keep the original name.
"""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from services.triggers.webhooks.dns import AsyncResolver, checked_address
from services.triggers.webhooks.url_policy import UrlRefused


class TargetRefused(httpx.TransportError):
    """The URL policy refused the target at delivery time; nothing was sent."""


class PinnedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        allow_http: bool,
        allowlist: Sequence[str],
        lookup: AsyncResolver,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._allow_http = allow_http
        self._allowlist = tuple(allowlist)
        self._lookup = lookup
        self._inner = inner or httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        try:
            address = await checked_address(
                url, allow_http=self._allow_http, allowlist=self._allowlist, lookup=self._lookup
            )
        except UrlRefused as refused:
            # the operator's delivery log may name the address: it is the address their
            # subscription's own name resolved to at delivery (DNS rebinding shows here)
            where = f" ({refused.address})" if refused.address else ""
            raise TargetRefused(f"refused at delivery: {refused}{where}", request=request) from None
        host = request.url.host
        request.url = request.url.copy_with(host=address)
        # the Host header was set from the original URL when the request was built
        request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
