"""The user documentation names only what exists: make targets, ``vigil`` commands,
settings and HTTP routes; every docs/ page is linked from the README; the settings
table is the one the settings models generate."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer.main
from fastapi import FastAPI
from starlette.routing import Route

from services.ingest.app import create_app as ingest_app
from services.ingest.config import IngestSettings
from services.scoring.app import create_app as scoring_app
from services.scoring.config import ScoringSettings
from services.scoring.trust.accuracy.outcomes import MAX_OUTCOMES_PER_POST
from services.triggers.app import create_app as triggers_app
from services.triggers.config import TriggersSettings
from shared.settings.common import ConnectionSettings
from vigil import settings_doc
from vigil.cli import app as vigil_app

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
TOKEN = "t" * 32
FERNET = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="

FENCE = re.compile(r"```.*?```", re.DOTALL)
SPAN = re.compile(r"`([^`\n]+)`")
MAKE = re.compile(r"\bmake ([a-z][a-z-]*)")
VIGIL = re.compile(r"(?<![\w/.-])vigil ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)")
SETTING = re.compile(r"\bVIGIL_[A-Z0-9_]*")
ROUTE = re.compile(
    r"(?:\b(GET|POST|PUT|DELETE|PATCH) )?"
    r"(/(?:v1|healthz|readyz|metrics|docs|openapi\.json)(?:[^\s`'\"?|)]*))"
)


def _code(page: Path) -> list[str]:
    """The code of a page: fenced blocks and inline spans, where names are exact."""
    text = page.read_text()
    blocks = FENCE.findall(text)
    return [*blocks, *SPAN.findall(FENCE.sub("", text))]


def _named(pattern: re.Pattern[str]) -> list[tuple[str, Any]]:
    return [
        (page.name, match)
        for page in PAGES
        for code in _code(page)
        for match in pattern.findall(code)
    ]


def test_every_make_target_named_exists():
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    named = _named(MAKE)
    assert named, "the README names make targets"
    assert [(page, t) for page, t in named if t not in targets] == []


def _subcommands(command: Any) -> dict[str, Any]:
    commands: dict[str, Any] = getattr(command, "commands", {})  # a group's, else none
    return commands


def test_every_vigil_command_named_exists():
    root = _subcommands(typer.main.get_command(vigil_app))
    assert {"stack", "ingest", "docs"} <= set(root)
    missing = []
    named = _named(VIGIL)
    assert named, "the docs name vigil commands"
    for page, words in named:
        first, *rest = words.split()
        command = root.get(first)
        if command is None or (
            _subcommands(command) and rest and rest[0] not in _subcommands(command)
        ):
            missing.append((page, words))
    assert missing == []


def test_every_setting_named_exists():
    names = settings_doc.env_names()
    unknown = []
    for page in PAGES:
        for name in set(SETTING.findall(page.read_text())):
            # a name cut short (``VIGIL_WEBHOOKS__…``, ``VIGIL_``) stands for its family
            exists = name in names or (
                name.endswith("_") and any(n.startswith(name) for n in names)
            )
            if not exists:
                unknown.append((page.name, name))
    assert unknown == []


def test_the_readme_table_lists_every_security_setting():
    readme = (REPO / "README.md").read_text()
    security = [
        f"VIGIL_{name.upper()}"
        for name in ConnectionSettings.model_fields
        if "_ssl" in name or "_sasl" in name or name == "kafka_security_protocol"
    ]
    assert len(security) >= 15
    assert [name for name in security if f"| `{name}` |" not in readme] == []


def test_the_outcomes_cap_in_the_docs_is_the_codes():
    (row,) = [
        line
        for line in (REPO / "docs" / "http-api.md").read_text().splitlines()
        if line.startswith("| scoring | `POST /v1/outcomes` |")
    ]
    said = re.search(r"up to ([\d,]+)", row)
    assert said is not None, row
    assert int(said.group(1).replace(",", "")) == MAX_OUTCOMES_PER_POST


@cache
def _routes() -> list[tuple[set[str], re.Pattern[str]]]:
    """Each route of the three apps: its methods and its path as a pattern."""
    apps: list[FastAPI] = [
        ingest_app(IngestSettings(api_token=TOKEN), run_loops=False),
        scoring_app(ScoringSettings(api_token=TOKEN), run_loops=False),
        triggers_app(TriggersSettings(api_token=TOKEN, secrets_key=FERNET), run_loops=False),
    ]
    paths: list[tuple[set[str], str]] = []
    for app in apps:
        paths += [
            ({method.upper() for method in operations}, path)
            for path, operations in app.openapi()["paths"].items()
        ]
        paths += [(set(r.methods or ()), r.path) for r in app.routes if isinstance(r, Route)]
    return [(methods, re.compile(re.sub(r"\{[^}]+\}", "[^/]+", path))) for methods, path in paths]


def _route_exists(method: str, path: str) -> bool:
    path = re.sub(r"\{[^}]+\}", "x", path).rstrip(".,;:")
    if path.endswith(("…", "/")) or path == "/v1":  # a family of routes
        prefix = path.rstrip("…")
        return any(pattern.pattern.startswith(prefix) for _, pattern in _routes())
    return any(
        pattern.fullmatch(path) and (not method or method in methods)
        for methods, pattern in _routes()
    )


def test_every_route_named_exists():
    named = _named(ROUTE)
    assert len(named) > 20, "the docs name the routes"
    assert [(page, m, p) for page, (m, p) in named if not _route_exists(m, p)] == []


@pytest.mark.parametrize("path", ["/v1/nowhere", "/v1/accounts/x/wealth"])
def test_a_route_that_does_not_exist_is_caught(path: str):
    assert not _route_exists("GET", path)


def test_every_docs_page_is_linked_from_the_readme():
    readme = (REPO / "README.md").read_text()
    linked = set(re.findall(r"\]\(docs/([^)#]+)", readme))
    pages = {page.name for page in (REPO / "docs").glob("*.md")}
    assert pages - linked == set()


def test_the_settings_table_is_generated_from_the_settings_models():
    page = REPO / "docs" / "configuration.md"
    assert settings_doc.render(page.read_text()) == page.read_text(), (
        "run `vigil docs settings` to regenerate docs/configuration.md"
    )


def test_a_setting_without_a_meaning_refuses_to_render(monkeypatch: pytest.MonkeyPatch):
    meanings = dict(settings_doc.MEANINGS)
    del meanings["VIGIL_CHANGE_STEP"]
    monkeypatch.setattr(settings_doc, "MEANINGS", meanings)
    with pytest.raises(ValueError, match="VIGIL_CHANGE_STEP"):
        settings_doc.settings_table()
