"""The migrations form one line, and their files sort in its order: a newcomer reads them
as they run. Revision ids never change (databases record them); file names may."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from shared.database.engine import MIGRATIONS_DIR, alembic_config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("postgresql+asyncpg://unused/unused"))


def test_the_history_is_one_line() -> None:
    scripts = _scripts()
    assert len(scripts.get_heads()) == 1 and len(scripts.get_bases()) == 1
    for revision in scripts.walk_revisions():
        assert not isinstance(revision.down_revision, tuple | list), revision.revision


def test_the_files_sort_in_the_order_they_run() -> None:
    scripts = _scripts()
    chain = [Path(r.path).name for r in reversed(list(scripts.walk_revisions()))]
    files = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))
    assert files == chain
    numbers = [int(name.split("_", 1)[0]) for name in chain]
    assert numbers == list(range(1, len(chain) + 1)), "one number per file, none skipped"
