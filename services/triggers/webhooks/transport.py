"""The HTTP transport of webhook deliveries: check the target at send time, pin it.

Each request's host is resolved and checked by the URL policy when it is sent,
and the connection goes to the address that was checked: the URL's host is
replaced by that address while the ``Host`` header and the TLS server name (SNI,
and so certificate verification) keep the original name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from services.triggers.webhooks.url_policy import (
    Resolver,
    UrlRefused,
    pick_address,
    system_resolver,
)


class TargetRefused(httpx.TransportError):
    """The URL policy refused the target at delivery time; nothing was sent."""


class PinnedTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        allow_http: bool,
        allowlist: Sequence[str],
        resolve: Resolver = system_resolver,
        inner: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._allow_http = allow_http
        self._allowlist = tuple(allowlist)
        self._resolve = resolve
        self._inner = inner or httpx.AsyncHTTPTransport(retries=0)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        try:
            # getaddrinfo blocks: off the event loop
            address = await asyncio.to_thread(
                pick_address,
                url,
                allow_http=self._allow_http,
                allowlist=self._allowlist,
                resolve=self._resolve,
            )
        except UrlRefused as refused:
            raise TargetRefused(f"refused at delivery: {refused}", request=request) from None
        host = request.url.host
        request.url = request.url.copy_with(host=address)
        # the Host header was set from the original URL when the request was built
        request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
