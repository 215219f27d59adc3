"""The shared HTTP layer on a tiny app: token roles, the body cap before auth, one error shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError

from shared.errors import InvalidInput, NotFound
from shared.http.auth import protected
from shared.http.openapi import errors
from shared.http.params import require_near_now
from shared.http.server import harden
from shared.settings.common import CommonSettings, explain

ADMIN = "a" * 32
READ = "r" * 32
WRITE = "w" * 32


def app_with(settings: CommonSettings) -> FastAPI:
    app = FastAPI()
    reads = APIRouter(prefix="/v1")
    writes = APIRouter(prefix="/v1")

    @reads.get("/things/{thing_id}", responses=errors(404))
    async def get_thing(thing_id: str) -> dict[str, str]:
        if thing_id == "missing":
            raise NotFound("no thing missing")
        return {"id": thing_id}

    @reads.get("/outage")
    async def outage() -> None:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError())

    @reads.put("/things/{thing_id}")
    async def put_thing(thing_id: str, request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @writes.post("/events")
    async def post_events(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app.include_router(reads, dependencies=protected(settings))
    app.include_router(writes, dependencies=protected(settings, "write"))
    harden(app, max_body_bytes=2048)
    return app


def client(app: FastAPI, token: str | None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers
    )


SETTINGS = CommonSettings(api_token=ADMIN, read_token=READ, write_token=WRITE)


@pytest.mark.parametrize(
    ("token", "get", "put", "post"),
    [
        (ADMIN, 200, 200, 200),
        (READ, 200, 401, 401),
        (WRITE, 401, 401, 200),
        ("x" * 32, 401, 401, 401),
        (None, 401, 401, 401),
    ],
)
async def test_each_token_opens_only_its_routes(token, get, put, post) -> None:
    async with client(app_with(SETTINGS), token) as c:
        assert (await c.get("/v1/things/a")).status_code == get
        assert (await c.put("/v1/things/a", content=b"{}")).status_code == put
        assert (await c.post("/v1/events", content=b"{}")).status_code == post


async def test_refusals_share_one_error_body() -> None:
    async with client(app_with(SETTINGS), ADMIN) as c:
        missing = await c.get("/v1/things/missing")
        anonymous = await c.get("/v1/things/a", headers={"Authorization": ""})
        unknown = await c.get("/nowhere")
        nul = await c.get("/v1/things/a%00b")
    assert missing.status_code == 404 and missing.json() == {"detail": "no thing missing"}
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert set(anonymous.json()) == {"detail"}
    assert unknown.status_code == 404 and set(unknown.json()) == {"detail"}
    assert nul.status_code == 422 and "NUL" in nul.json()["detail"]
    async with client(app_with(SETTINGS), ADMIN) as c:
        outage = await c.get("/v1/outage")
    assert outage.status_code == 503 and "database is unavailable" in outage.json()["detail"]


async def test_an_oversized_body_is_refused_before_auth_and_unread() -> None:
    async with client(app_with(SETTINGS), None) as c:
        declared = await c.put("/v1/things/a", content=b"x" * 4096)

        async def trickle():
            for _ in range(10):
                yield b"x" * 512

        streamed = await c.post("/v1/events", content=trickle())
    # no token at all, yet 413: the cap is checked before auth
    assert declared.status_code == 413 and streamed.status_code == 413
    assert declared.json() == {"detail": "request body over 2048 bytes"}


def test_openapi_documents_auth_caps_and_the_one_error_schema() -> None:
    schema = app_with(SETTINGS).openapi()
    get = schema["paths"]["/v1/things/{thing_id}"]["get"]
    assert get["security"] == [{"bearer": []}]
    for status in ("401", "404", "413", "422"):
        body = get["responses"][status]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/ErrorBody"}, status
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert schema["components"]["schemas"]["ErrorBody"]["required"] == ["detail"]


@pytest.mark.parametrize("token", [None, "", "changeme", "y" * 31])
def test_settings_refuse_a_missing_placeholder_or_short_token(monkeypatch, token) -> None:
    monkeypatch.delenv("VIGIL_API_TOKEN", raising=False)
    kwargs = {} if token is None else {"api_token": token}
    with pytest.raises(ValidationError) as refused:
        CommonSettings(**kwargs)
    message = explain(refused.value)
    assert "VIGIL_API_TOKEN" in message
    expected = {None: "is not set", "": "real secret", "changeme": "real secret"}.get(token, "32")
    assert expected in message


def test_clock_times_far_from_the_wall_clock_are_refused_unless_allowed() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    require_near_now("as_of", now + timedelta(hours=1), 86_400, False, lambda: now)
    far = datetime(9999, 12, 30, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="VIGIL_CLOCK_ANY_TIME"):
        require_near_now("as_of", far, 86_400, False, lambda: now)
    require_near_now("as_of", far, 86_400, True, lambda: now)
    with pytest.raises(InvalidInput, match="offset"):
        require_near_now("as_of", datetime(2026, 6, 1), 86_400, True, lambda: now)
