"""Delivery-time URL policy: resolve, refuse non-global addresses, pin the checked one."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from cryptography.fernet import Fernet

from services.triggers.webhooks.dns import BoundedResolver
from services.triggers.webhooks.secrets import SecretBox
from services.triggers.webhooks.transport import PinnedTransport, TargetRefused

SEEN: list[httpx.Request] = []


def transport(names: dict[str, list[str]], allowlist: tuple[str, ...] = ()) -> PinnedTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        SEEN.append(request)
        return httpx.Response(204)

    return PinnedTransport(
        allow_http=False,
        allowlist=allowlist,
        lookup=BoundedResolver(lambda host: names.get(host, []), timeout_s=5, threads=2),
        inner=httpx.MockTransport(answer),
    )


async def test_the_connection_goes_to_the_checked_address_with_host_and_sni_kept() -> None:
    SEEN.clear()
    pinned = transport({"hooks.example": ["93.184.216.34"]})
    async with httpx.AsyncClient(transport=pinned) as client:
        response = await client.post("https://hooks.example:8443/in?x=1", content=b"{}")
    assert response.status_code == 204
    (sent,) = SEEN
    assert sent.url.host == "93.184.216.34" and sent.url.port == 8443
    assert sent.headers["host"] == "hooks.example:8443"
    assert sent.extensions["sni_hostname"] == "hooks.example"


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["100.64.0.7"], ["93.184.216.34", "10.0.0.1"], ["::ffff:127.0.0.1"], []],
)
async def test_non_global_addresses_are_refused_at_delivery(addresses) -> None:
    SEEN.clear()
    pinned = transport({"hooks.example": addresses})
    async with httpx.AsyncClient(transport=pinned) as client:
        with pytest.raises(TargetRefused, match="refused at delivery"):
            await client.post("https://hooks.example/in", content=b"{}")
    assert SEEN == []


async def test_an_allowlisted_network_may_be_targeted() -> None:
    SEEN.clear()
    pinned = transport({"hooks.internal": ["100.64.0.7"]}, allowlist=("100.64.0.0/10",))
    async with httpx.AsyncClient(transport=pinned) as client:
        assert (await client.post("https://hooks.internal/in")).status_code == 204
    assert SEEN[0].url.host == "100.64.0.7"


async def test_a_name_whose_nameserver_never_answers_delays_only_itself() -> None:
    """Many deliveries to a dead name time out and use one thread; other names resolve."""
    SEEN.clear()
    never = threading.Event()

    def resolve(host: str) -> list[str]:
        if host == "dead.example":
            never.wait()  # a nameserver that never answers (released at the end)
            return []
        return ["93.184.216.34"]

    lookup = BoundedResolver(resolve, timeout_s=3, threads=2)
    pinned = PinnedTransport(
        allow_http=False,
        allowlist=(),
        lookup=lookup,
        inner=httpx.MockTransport(lambda _: httpx.Response(204)),
    )
    try:
        async with httpx.AsyncClient(transport=pinned) as client:
            dead = [
                asyncio.ensure_future(client.post("https://dead.example/in")) for _ in range(20)
            ]
            live = await asyncio.wait_for(client.post("https://live.example/in"), 5)
            assert live.status_code == 204
            assert not any(task.done() for task in dead), "the dead name is still being waited on"
            results = await asyncio.gather(*dead, return_exceptions=True)
        assert all(isinstance(r, TargetRefused) for r in results)
        assert "did not resolve within 3 s" in str(results[0])
    finally:
        never.set()
        lookup.close()


def test_secrets_round_trip_and_survive_a_key_rotation() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox(old).seal("whsec_abc")
    assert sealed.startswith("fernet:") and "whsec_abc" not in sealed
    assert SecretBox(f"{new},{old}").open(sealed) == "whsec_abc"
    with pytest.raises(ValueError, match="does not decrypt"):
        SecretBox(new).open(sealed)
    with pytest.raises(ValueError, match="unencrypted"):
        SecretBox(old).open("whsec_abc")
