"""``vigil scorecard validate``: a summary on success, every error with its path and exit 1."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from services.scoring.scorecard.default import DEFAULT_PATH
from vigil.cli import app


def test_the_default_scorecard_is_valid() -> None:
    result = CliRunner().invoke(app, ["scorecard", "validate", str(DEFAULT_PATH)])
    assert result.exit_code == 0, result.output
    assert result.output == "valid: 21 measures, 5 components, 4 segments\n"


def test_errors_are_listed_with_their_paths_and_exit_1(tmp_path: Path) -> None:
    text = DEFAULT_PATH.read_text()
    text = text.replace("{x: 3, y: 40}", "{x: 9, y: 40}")  # features_used, measures[6]
    text = text.replace("measures: [{measure: features_used}]", "measures: [{measure: nope}]")
    path = tmp_path / "card.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["scorecard", "validate", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "measures[6].points[2]: x must increase",
        "components[1].measures[0].measure: unknown measure 'nope'",
    ]


def test_a_file_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "card.yaml"
    path.write_text("measures: [unclosed\n")
    result = CliRunner().invoke(app, ["scorecard", "validate", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith("(document): cannot read: ")


def test_diff_refuses_an_invalid_file_with_every_path_before_reading_the_database(
    tmp_path: Path,
) -> None:
    text = DEFAULT_PATH.read_text()
    text = text.replace("{x: 3, y: 40}", "{x: 9, y: 40}")
    text = text.replace("measures: [{measure: features_used}]", "measures: [{measure: nope}]")
    path = tmp_path / "card.yaml"
    path.write_text(text)
    unreachable = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    result = CliRunner().invoke(
        app, ["scorecard", "diff", str(path)], env={"VIGIL_DATABASE_URL": unreachable}
    )
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "measures[6].points[2]: x must increase",
        "components[1].measures[0].measure: unknown measure 'nope'",
    ]


def test_windows_are_checked_against_the_retention_scoring_keeps(tmp_path: Path) -> None:
    text = DEFAULT_PATH.read_text().replace("baseline_days: 28 ", "baseline_days: 200")
    path = tmp_path / "card.yaml"
    path.write_text(text)
    refused = CliRunner().invoke(app, ["scorecard", "validate", str(path)])
    assert refused.exit_code == 1
    assert refused.output.startswith("measures[2].baseline_days: needs 207 days of history")
    taken = CliRunner().invoke(
        app, ["scorecard", "validate", str(path)], env={"VIGIL_ROLLUP_RETENTION_DAYS": "365"}
    )
    assert taken.exit_code == 0, taken.output


def test_diff_says_which_database_it_cannot_read_without_its_password() -> None:
    unreachable = "postgresql+asyncpg://vigil:secret@127.0.0.1:1/none"
    result = CliRunner().invoke(
        app,
        ["scorecard", "diff", str(DEFAULT_PATH)],
        env={"VIGIL_DATABASE_URL": unreachable},
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("cannot read the scoring database at 127.0.0.1:1/none: ")
    assert "secret" not in result.output
