"""Pure parts of the console: chart geometry and the metrics summary."""

from __future__ import annotations

from services.console import charts, pipeline_view

METRICS = """\
# TYPE vigil_scoring_consumer_lag_messages gauge
vigil_scoring_consumer_lag_messages{partition="0",topic="signals"} 5.0
vigil_scoring_consumer_lag_messages{partition="1",topic="signals"} 7.0
# TYPE vigil_scoring_dead_letters_total counter
vigil_scoring_dead_letters_total{reason="bad_json"} 2.0
# TYPE vigil_scoring_event_time_lag_seconds histogram
vigil_scoring_event_time_lag_seconds_bucket{le="0.5"} 90.0
vigil_scoring_event_time_lag_seconds_bucket{le="1.0"} 99.0
vigil_scoring_event_time_lag_seconds_bucket{le="+Inf"} 100.0
vigil_scoring_event_time_lag_seconds_count 100.0
vigil_scoring_event_time_lag_seconds_sum 30.0
# TYPE vigil_scoring_accounts gauge
vigil_scoring_accounts{band="red",segment="smb"} 3.0
vigil_scoring_accounts{band="green",segment="enterprise"} 10.0
"""


def test_the_metrics_summary_reads_lag_dead_letters_and_event_time() -> None:
    m = pipeline_view.summarize("scoring", METRICS)
    assert m.consumer_lag == 12 and m.lag_by_topic == {"signals": 12}
    assert m.dead_letters == {"bad_json": 2}
    assert m.event_time_lag_p50 == "<= 0.5 s"
    assert m.event_time_lag_p99 == "<= 1 s"
    table = pipeline_view.distribution(METRICS)
    assert table["red"] == {"smb": 3} and table["green"] == {"enterprise": 10}


def test_a_lag_past_the_last_bucket_says_so() -> None:
    text = METRICS.replace('le="+Inf"} 100.0', 'le="+Inf"} 1000.0')
    assert pipeline_view.summarize("scoring", text).event_time_lag_p99 == "> 1 s"


def test_the_history_chart_marks_the_changes_that_moved_the_account() -> None:
    points = [
        {"as_of": "2026-11-01T00:00:00+00:00", "score": 80, "band": "green", "reasons": []},
        {"as_of": "2026-11-02T00:00:00+00:00", "score": 78, "band": "green", "reasons": []},
        {"as_of": "2026-11-03T00:00:00+00:00", "score": 30, "band": "red", "reasons": ["x"]},
    ]
    chart = charts.score_history(points)
    assert [m.moved for m in chart.markers] == [True, False, True]
    assert chart.markers[0].x < chart.markers[1].x < chart.markers[2].x
    assert chart.markers[2].y > chart.markers[0].y, "a lower score is drawn lower"
    assert chart.markers[2].label.endswith("score 30 (red): x")
    assert {z.band for z in chart.zones} == {"green", "yellow", "red"}
    assert chart.path.startswith("M") and chart.path.count("L") == 2
    assert charts.score_history([]).empty


def test_the_calibration_plot_has_a_point_per_decile() -> None:
    deciles = [
        {"decile": i, "score_min": i * 10, "score_max": i * 10 + 9, "n": 10, "churn_rate": r}
        for i, r in enumerate([0.6, 0.3, 0.1])
    ]
    chart = charts.calibration(deciles)
    assert len(chart.markers) == 3
    assert chart.markers[0].y < chart.markers[2].y, "a higher churn rate is drawn higher"


def test_a_scorecards_own_segments_join_the_built_in_ones() -> None:
    table = {
        "green": {"enterprise": 3, "apac_enterprise": 2, "unknown": 1},
        "red": {"apac_smb": 1, "Bad Name": 4},
    }
    assert pipeline_view.segments_of(table) == (
        "enterprise",
        "mid_market",
        "smb",
        "self_serve",
        "apac_enterprise",
        "apac_smb",
        "unknown",
    )
    assert pipeline_view.segments_of({}) == pipeline_view.SEGMENTS
    assert pipeline_view.segment_filter("apac_smb") == "apac_smb"
    for refused in ("", "Bad Name", "x" * 65, "a'; --"):
        assert pipeline_view.segment_filter(refused) is None
