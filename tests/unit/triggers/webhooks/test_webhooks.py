"""Signing per Standard Webhooks, URL policy, retry schedule."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.triggers.webhooks.schedule import next_attempt_delay, retry_after_seconds
from services.triggers.webhooks.signing import headers, new_secret
from services.triggers.webhooks.url_policy import UrlRefused, check_url


def test_signature_verifies_with_the_standardwebhooks_library() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    body = '{"type":"playbook.triggered","data":{}}'
    signed = headers([secret], "msg_1", datetime.now(UTC), body)
    assert signed["webhook-signature"].startswith("v1,")
    Webhook(secret).verify(body, signed)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, signed)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + " ", signed)


def test_during_rotation_both_secrets_verify() -> None:
    old, new = new_secret(), new_secret()
    body = "{}"
    signed = headers([new, old], "msg_2", datetime.now(UTC), body)
    assert len(signed["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, signed)
    Webhook(new).verify(body, signed)


def fake_resolver(table: dict[str, list[str]]):
    return lambda host: table[host]


RESOLVE = fake_resolver(
    {
        "169.254.169.254": ["169.254.169.254"],
        "10.0.0.1": ["10.0.0.1"],
        "localhost": ["127.0.0.1", "::1"],
        "hooks.example.com": ["93.184.216.34"],
        "sneaky.example.com": ["192.168.1.5"],
    }
)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://10.0.0.1/",
        "http://localhost/",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/",
        "https://localhost/",
        "https://sneaky.example.com/hook",
        "ftp://hooks.example.com/",
        "not a url",
    ],
)
def test_internal_and_non_https_targets_are_refused(url: str) -> None:
    with pytest.raises(UrlRefused):
        check_url(url, allow_http=False, allowlist=(), resolve=RESOLVE)
    if url.startswith("http://"):  # refused for the address too, not only for the scheme
        with pytest.raises(UrlRefused, match="private or reserved"):
            check_url(url, allow_http=True, allowlist=(), resolve=RESOLVE)


def test_public_https_and_allowlisted_targets_pass() -> None:
    assert check_url("https://hooks.example.com/x", allow_http=False, allowlist=(), resolve=RESOLVE)
    assert check_url(
        "http://localhost:9000/", allow_http=True, allowlist=("localhost",), resolve=RESOLVE
    )
    assert check_url(
        "http://10.0.0.1/", allow_http=True, allowlist=("10.0.0.0/8",), resolve=RESOLVE
    )


# one name per category of address that must be refused, each answered by the fake DNS
REFUSED = {
    "loopback": "127.0.0.2",
    "private-10": "10.1.2.3",
    "private-172": "172.16.5.4",
    "private-192": "192.168.1.1",
    "link-local-metadata": "169.254.169.254",
    "shared-cgnat": "100.64.0.7",
    "unspecified": "0.0.0.0",
    "this-network": "0.1.2.3",
    "ietf-protocol": "192.0.0.8",
    "documentation": "198.51.100.7",
    "benchmarking": "198.19.0.1",
    "multicast": "224.0.0.251",
    "reserved": "240.0.0.1",
    "broadcast": "255.255.255.255",
    "v6-loopback": "::1",
    "v6-unspecified": "::",
    "ipv4-mapped": "::ffff:10.0.0.1",
    "ipv4-compatible": "::192.168.1.1",
    "ipv4-translated": "::ffff:0:192.168.1.1",
    "nat64": "64:ff9b::192.168.1.1",
    "nat64-local-use": "64:ff9b:1::808:808",
    "6to4": "2002:c0a8:101::1",
    "teredo-private-client": "2001:0:808:808::3f57:fefe",
    "unique-local": "fd12:3456::1",
    "v6-link-local": "fe80::1",
    "site-local": "fec0::1",
    "v6-multicast": "ff02::1",
    "discard": "100::1",
    "v6-documentation": "2001:db8::1",
    "v6-benchmarking": "2001:2::1",
    "v6-unallocated": "4000::1",
}
PUBLIC = {
    "public-v4": "93.184.216.34",
    "public-v6": "2606:4700:4700::1111",
    "mapped-public": "::ffff:93.184.216.34",
    "nat64-public": "64:ff9b::93.184.216.34",
    "6to4-public": "2002:5db8:d822::1",
    "teredo-public": "2001:0:808:808::fefe:fefe",
}
CATEGORIES = fake_resolver({f"{k}.example": [v] for k, v in (REFUSED | PUBLIC).items()})


@pytest.mark.parametrize("category", REFUSED)
def test_each_category_of_non_global_address_is_refused_without_naming_it(category: str) -> None:
    with pytest.raises(UrlRefused) as refused:
        check_url(
            f"https://{category}.example/", allow_http=False, allowlist=(), resolve=CATEGORIES
        )
    message = str(refused.value)
    assert REFUSED[category] not in message, "the address a name resolves to is not disclosed"
    assert "VIGIL_WEBHOOKS__ALLOWLIST" in message and "JSON list" in message
    assert refused.value.address == REFUSED[category]  # kept for the operator's delivery log
    with pytest.raises(UrlRefused, match="private or reserved"):  # an address literal too
        host = REFUSED[category]
        check_url(
            f"https://[{host}]/" if ":" in host else f"https://{host}/",
            allow_http=False,
            allowlist=(),
            resolve=CATEGORIES,
        )


@pytest.mark.parametrize("category", PUBLIC)
def test_global_addresses_pass_and_so_do_those_they_carry(category: str) -> None:
    url = f"https://{category}.example/"
    assert check_url(url, allow_http=False, allowlist=(), resolve=CATEGORIES) == url


def test_the_allowlist_admits_a_refused_category_and_http_names_its_setting() -> None:
    url = "https://nat64.example/"
    assert check_url(url, allow_http=False, allowlist=("192.168.0.0/16",), resolve=CATEGORIES)
    assert check_url(url, allow_http=False, allowlist=("nat64.example",), resolve=CATEGORIES)
    with pytest.raises(UrlRefused, match="VIGIL_WEBHOOKS__ALLOW_HTTP=true"):
        check_url("http://public-v4.example/", allow_http=False, allowlist=(), resolve=CATEGORIES)


def test_schedule_follows_the_specification_then_gives_up() -> None:
    schedule = (0, 5, 300, 1800)
    rng = random.Random(1)
    delays = [next_attempt_delay(n, schedule, 0.1, rng) for n in range(5)]
    assert delays[4] is None
    first, second, third, fourth = (d or 0.0 for d in delays[:4])
    assert first == 0
    assert 4.5 <= second <= 5.5 and 270 <= third <= 330 and 1620 <= fourth <= 1980


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert retry_after_seconds("120", now, 86400) == 120
    later = (now + timedelta(seconds=60)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 58 <= (retry_after_seconds(later, now, 86400) or 0) <= 61
    assert retry_after_seconds("soon", now, 86400) is None
    assert retry_after_seconds("999999", now, 3600) == 3600


def test_retry_after_the_receiver_writes_is_read_or_ignored_never_raises() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    # "-0000" (no zone) is read as GMT; a date in the past is "now"
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 -0000", now, 3600) == 0
    later = (now + timedelta(seconds=60)).strftime("%a, %d %b %Y %H:%M:%S -0000")
    assert 58 <= (retry_after_seconds(later, now, 3600) or 0) <= 61
    for junk in ("\u00b2", "\u0663", "1.5", "-5", "+5", "Wed, 21 Oct 99999 07:28:00 GMT", "\x00"):
        assert retry_after_seconds(junk, now, 3600) is None, junk
    assert retry_after_seconds("9" * 5000, now, 3600) == 3600
