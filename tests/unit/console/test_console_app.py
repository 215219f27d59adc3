"""The console's web layer over a fake scoring and triggers (httpx.MockTransport)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.console.app import create_app
from services.console.config import ConsoleSettings
from services.scoring.domain import cursor as page_cursor

ADMIN, READ = "a" * 40, "r" * 40
EVIL = '<script>alert("id")</script>'
HEALTH = {
    "account_id": EVIL,
    "score": 12.0,
    "band": "red",
    "segment": "smb",
    "components": {"usage": 10.0, "support": None},
    "reasons": ['<img src=x onerror="alert(1)">'],
    "coverage": 0.8,
    "model_version": "1",
    "as_of": "2026-12-01T00:00:00Z",
    "updated_at": "2026-12-01T00:00:00Z",
    "arr": "9000",
    "seats": 4,
    "renewal_at": "2027-01-01",
}
HISTORY = [
    {"as_of": "2026-11-01T00:00:00Z", "score": 80, "band": "green", "reasons": []},
    {"as_of": "2026-11-20T00:00:00Z", "score": 12, "band": "red", "reasons": ["fell"]},
]


EPISODE = {
    "episode_id": "ep-1",
    "account_id": EVIL,
    "playbook": "at_risk",
    "segment": "smb",
    "status": "open",
    "opened_at": "2026-12-01T00:00:00Z",
    "due_by": "2026-12-02T00:00:00Z",
    "reason": "band entered red",
    "health": {"score": 12.0, "band": "red"},
    "owner": None,
    "snoozed_until": None,
    "resolution": None,
    "note": None,
    "acknowledged_at": None,
    "closed_at": None,
    "resolved_at": None,
    "held_back_reason": None,
}
FEEDBACK = {
    "since": None,
    "items": [
        {
            "playbook": "at_risk",
            "segment": "smb",
            "opened": 4,
            "closed": {"actioned": 2, "not_useful": 1, "false_alarm": 0},
            "judged": 3,
            "precision": 0.6667,
            "precision_low": 0.2,
            "precision_high": 0.94,
            "time_to_acknowledge": {"n": 3, "median_s": 7200.0, "p90_s": 9000.0},
            "time_to_close": {"n": 3, "median_s": 36000.0, "p90_s": 40000.0},
        }
    ],
}


class FakeServices:
    def __init__(self) -> None:
        self.posted: list[tuple[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in (ADMIN, READ):
            return httpx.Response(401, json={"detail": "missing or invalid bearer token"})
        path = request.url.raw_path.decode().split("?")[0]
        if request.method in ("POST", "PUT"):
            if token != ADMIN:
                return httpx.Response(401, json={"detail": "missing or invalid bearer token"})
            if path == "/v1/config/scoring" and not request.content:
                return httpx.Response(422, json={"detail": "body: Field required"})
            self.posted.append((path, request.content))
            return httpx.Response(200, json={})
        cursor = request.url.params.get("cursor")
        if path == "/v1/accounts" and cursor and not re.match(page_cursor.PATTERN, cursor):
            return httpx.Response(422, json={"detail": "cursor: does not match the pattern"})
        if path == "/v1/accounts":
            item = {k: HEALTH[k] for k in ("account_id", "score", "band", "segment", "coverage")}
            page = {"items": [item | {"as_of": None}], "next_cursor": None}
            return httpx.Response(200, json=page)
        if path.endswith("/health/history"):
            return httpx.Response(200, json=HISTORY)
        if path.endswith("/health"):
            return httpx.Response(200, json=HEALTH)
        if path == "/v1/playbooks/episodes":
            return httpx.Response(200, json={"items": [EPISODE], "next_cursor": None})
        if path == "/v1/playbooks/feedback":
            return httpx.Response(200, json=FEEDBACK)
        if path == "/metrics":
            return httpx.Response(200, text='vigil_scoring_accounts{band="red",segment="smb"} 3\n')
        return httpx.Response(404, json={"detail": "Not Found"})


@pytest.fixture
def fake() -> FakeServices:
    return FakeServices()


@pytest.fixture
async def client(fake: FakeServices) -> AsyncIterator[httpx.AsyncClient]:
    settings = ConsoleSettings(console_session_key="k" * 40, console_cache_s=0)
    app = create_app(settings, transport=httpx.MockTransport(fake))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://console") as c,
    ):
        yield c


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def sign_in(client: httpx.AsyncClient, token: str) -> httpx.Response:
    page = await client.get("/login")
    return await client.post("/login", data={"csrf": csrf_of(page.text), "token": token})


async def test_pages_ask_to_sign_in_and_the_cookie_is_strict_and_opaque(client) -> None:
    first = await client.get("/accounts")
    assert first.status_code == 303 and first.headers["location"] == "/login"
    signed = await sign_in(client, ADMIN)
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert ADMIN not in cookie
    page = await client.get("/accounts")
    assert page.status_code == 200 and ADMIN not in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none'
    assert "default-src 'none'" in page.headers["content-security-policy"]


async def test_an_admin_sign_in_is_admin_and_changes_nothing(client, fake) -> None:
    assert (await sign_in(client, ADMIN)).status_code == 303
    assert "admin: acts" in (await client.get("/accounts")).text
    assert not fake.posted


async def test_a_wrong_token_and_a_login_without_csrf_are_refused(client) -> None:
    assert (await sign_in(client, "x" * 40)).status_code == 401
    refused = await client.post("/login", data={"token": ADMIN})
    assert refused.status_code == 403


async def test_what_events_carry_renders_as_text(client) -> None:
    await sign_in(client, ADMIN)
    page = (await client.get("/accounts/" + httpx.URL(path=EVIL).raw_path.decode())).text
    assert EVIL not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;id&#34;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
    assert page.count("<circle") == 2, "one marker per history point"
    listing = (await client.get("/accounts")).text
    assert EVIL not in listing and "&lt;script&gt;" in listing


async def test_forms_need_their_csrf_token_and_a_token_that_acts(client, fake) -> None:
    await sign_in(client, READ)
    page = (await client.get("/model")).text
    assert "Promote" not in page
    read_refused = await client.post("/model/promote", data={"csrf": csrf_of(page)})
    assert read_refused.status_code == 403 and not fake.posted
    client.cookies.clear()
    await sign_in(client, ADMIN)
    csrf = csrf_of((await client.get("/accounts")).text)
    assert (await client.post("/model/promote", data={}, follow_redirects=False)).status_code == 403
    done = await client.post(
        "/playbooks/episodes/e%2F1/snooze",
        data={"csrf": csrf, "until": "2026-12-09T10:00", "back": "//evil.example"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/playbooks"
    assert fake.posted == [
        ("/v1/playbooks/episodes/e%2F1/snooze", b'{"until":"2026-12-09T10:00:00Z"}')
    ]


async def test_a_search_starts_at_a_cursor_scoring_accepts(client) -> None:
    await sign_in(client, ADMIN)
    page = (await client.get("/accounts", params={"q": "<scr"})).text
    assert "Accounts: not available" not in page
    assert "&lt;script&gt;" in page


async def test_a_tampered_cookie_is_no_session(client) -> None:
    await sign_in(client, ADMIN)
    value = client.cookies["vigil_console"]
    client.cookies.clear()
    client.cookies["vigil_console"] = value[:-4] + ("AAAA" if value[-4:] != "AAAA" else "BBBB")
    assert (await client.get("/accounts")).status_code == 303


async def test_routes_not_there_yet_are_a_panel_not_an_error(client) -> None:
    await sign_in(client, ADMIN)
    page = await client.get("/accounts/someone")
    assert page.status_code == 200
    assert "Overrides: not available" in page.text


async def test_the_playbook_queue_acts_with_the_episode_contract(client, fake) -> None:
    await sign_in(client, ADMIN)
    page = (await client.get("/playbooks")).text
    assert 'action="/playbooks/episodes/ep-1/acknowledge"' in page
    assert "67% (20\u201394%)" in page and "2.0 h" in page, "the feedback table"
    assert EVIL not in page
    csrf = csrf_of(page)
    await client.post("/playbooks/episodes/ep-1/acknowledge", data={"csrf": csrf})
    await client.post(
        "/playbooks/episodes/ep-1/close", data={"csrf": csrf, "resolution": "actioned"}
    )
    assert fake.posted == [
        ("/v1/playbooks/episodes/ep-1/acknowledge", b"{}"),
        ("/v1/playbooks/episodes/ep-1/close", b'{"resolution":"actioned","note":""}'),
    ]


async def test_an_override_sends_only_the_fields_of_its_kind(client, fake) -> None:
    await sign_in(client, ADMIN)
    csrf = csrf_of((await client.get("/accounts")).text)
    form = {
        "csrf": csrf,
        "kind": "pin_band",
        "band": "green",
        "delta": "5",
        "component": "usage",
        "reason": "exec sponsor call",
        "expires_at": "2026-12-31T00:00",
    }
    answer = await client.post("/accounts/acme/overrides", data=form)
    assert answer.status_code == 303 and answer.headers["location"] == "/accounts/acme"
    assert fake.posted == [
        (
            "/v1/accounts/acme/overrides",
            b'{"kind":"pin_band","reason":"exec sponsor call",'
            b'"expires_at":"2026-12-31T00:00:00Z","band":"green"}',
        )
    ]
