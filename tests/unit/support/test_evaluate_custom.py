"""The evaluation's custom scorecard: region segments that score as the ones they mirror."""

from __future__ import annotations

from services.scoring.scorecard.compiled import compile_scorecard
from services.scoring.scorecard.evaluate import evaluate
from tests.support.evaluation.custom import CUSTOM, DEFAULT, expected_segments, scorecard_named
from tests.support.evaluation.truth import Truth
from tests.support.workload import CUSTOM_PLAYBOOK, REGIONAL, REGIONAL_PLAYBOOK
from tests.unit.scoring.states import NOW, active_account

CARD = compile_scorecard(scorecard_named(CUSTOM))


def test_a_region_copy_of_each_segment_scores_as_the_segment_it_mirrors() -> None:
    for arr, segment in ((200_000, "enterprise"), (50_000, "mid_market"), (9_000, "smb")):
        for silent in (0, 20):
            elsewhere = evaluate(CARD, active_account(arr=arr, silent_days=silent), NOW)
            regional = active_account(arr=arr, silent_days=silent, attributes={"region": REGIONAL})
            there = evaluate(CARD, regional, NOW)
            assert (elsewhere.segment, there.segment) == (segment, f"{REGIONAL}_{segment}")
            assert (there.score, there.band, there.components) == (
                elsewhere.score,
                elsewhere.band,
                elsewhere.components,
            )
    small = evaluate(CARD, active_account(arr=1_000, attributes={"region": REGIONAL}), NOW)
    assert small.segment == f"{REGIONAL}_self_serve"  # on the region alone
    other = evaluate(CARD, active_account(arr=1_000, attributes={"region": "emea"}), NOW)
    assert other.segment == "self_serve"


def test_the_regional_playbook_is_the_custom_one_on_the_region_segments() -> None:
    card = scorecard_named(CUSTOM)
    broken, regional = (p for p in card.playbooks if p.name in (CUSTOM_PLAYBOOK, REGIONAL_PLAYBOOK))
    assert regional.when == broken.when and not broken.segments
    assert regional.segments == [s.name for s in card.segments if s.name.startswith(REGIONAL)]
    assert len(regional.segments) == 4


def test_the_expected_segment_follows_the_region_only_with_the_custom_scorecard() -> None:
    truth = Truth({}, segment={"a": "smb", "b": "smb"}, region={"a": REGIONAL, "b": "emea"})
    assert expected_segments(DEFAULT, truth) == {"a": "smb", "b": "smb"}
    assert expected_segments(CUSTOM, truth) == {"a": f"{REGIONAL}_smb", "b": "smb"}
