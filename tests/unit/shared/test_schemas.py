"""The committed JSON Schema files are exactly what the models produce."""

from __future__ import annotations

from pathlib import Path

from services.scoring.scorecard_cli import DOCUMENTS
from shared.contracts.schemas import render_schemas

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "deploy" / "schemas"


def test_committed_schemas_match_the_models() -> None:
    rendered = render_schemas(DOCUMENTS)
    committed = {path.name: path.read_text() for path in SCHEMA_DIR.glob("*.schema.json")}
    assert set(committed) == set(rendered), "run `make schemas` and commit deploy/schemas"
    for name, text in rendered.items():
        assert committed[name] == text, f"{name} is stale: run `make schemas`"


def test_every_topic_has_a_schema() -> None:
    names = set(render_schemas())
    for topic in (
        "usage.events",
        "ticket.events",
        "payment.events",
        "survey.events",
        "signals",
        "health.changes",
        "playbook.events",
        "ingest.dlq",
    ):
        assert f"{topic}.schema.json" in names
