"""Name lookups for the URL policy: off the event loop, bounded in threads and in time.

``getaddrinfo`` blocks, and a dead nameserver makes it block for as long as the
system resolver's own retries last. Run on the event loop it stalls every
request; run in the loop's default executor it fills the threads every
``to_thread`` of the process shares. Here lookups get a small pool of their
own, each caller waits at most ``timeout_s``, and concurrent lookups of one
name share one thread, so a name whose nameserver never answers holds one
thread, not the pool, and other names keep resolving.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from services.triggers.webhooks.url_policy import Resolver, UrlRefused, is_ip, judge, target_host

AsyncResolver = Callable[[str], Awaitable[list[str]]]


class BoundedResolver:
    """An :data:`AsyncResolver` over a blocking :data:`Resolver` (the system's, or a fake)."""

    def __init__(self, resolve: Resolver, *, timeout_s: float, threads: int) -> None:
        self._resolve = resolve
        self._timeout_s = timeout_s
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="vigil-dns")
        self._in_flight: dict[str, asyncio.Future[list[str]]] = {}

    async def __call__(self, host: str) -> list[str]:
        lookup = self._in_flight.get(host)
        if lookup is None:
            lookup = asyncio.get_running_loop().run_in_executor(self._pool, self._resolve, host)
            self._in_flight[host] = lookup
            lookup.add_done_callback(lambda done: self._finished(host, done))
        try:
            # shielded: a caller that gives up leaves the lookup to the others sharing it
            async with asyncio.timeout(self._timeout_s):
                return list(await asyncio.shield(lookup))
        except TimeoutError:
            raise UrlRefused(
                f"host {host!r} did not resolve within {self._timeout_s:g} s"
            ) from None

    def _finished(self, host: str, done: asyncio.Future[list[str]]) -> None:
        if self._in_flight.get(host) is done:
            del self._in_flight[host]
        if not done.cancelled():
            done.exception()  # retrieved: a lookup every caller gave up on is not an error

    def close(self) -> None:
        """Stop taking lookups; a thread stuck in one is left to end on its own."""
        self._pool.shutdown(wait=False, cancel_futures=True)


async def checked_address(
    url: str, *, allow_http: bool, allowlist: Sequence[str], lookup: AsyncResolver
) -> str:
    """Resolve the URL's host now and return the checked address to connect to."""
    host = target_host(url, allow_http=allow_http)
    return judge(host, [host] if is_ip(host) else await lookup(host), allowlist)
