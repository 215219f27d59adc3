"""How an existing topic's layout is compared with the configured one."""

from __future__ import annotations

from pydantic import SecretStr

from shared.kafka.topics import TopicLayout, TopicMismatch, mismatches
from shared.settings.common import CommonSettings, TopicSpec


def test_each_differing_setting_is_named_with_expected_and_actual() -> None:
    found = mismatches("signals", TopicSpec(8, 3, 2), TopicLayout(4, 1, 1))
    assert found == [
        TopicMismatch("signals", "partitions", 8, 4),
        TopicMismatch("signals", "replication_factor", 3, 1),
        TopicMismatch("signals", "min.insync.replicas", 2, 1),
    ]


def test_a_matching_topic_and_unset_settings_report_nothing() -> None:
    assert mismatches("signals", TopicSpec(4, 3, 2), TopicLayout(4, 3, 2)) == []
    assert mismatches("signals", TopicSpec(4, None, None), TopicLayout(4, 3, None)) == []


def test_settings_build_the_spec_and_leave_replication_to_the_broker_by_default() -> None:
    default = CommonSettings(api_token=SecretStr("unit-token-0123456789abcdef0123456789abcdef"))
    assert default.topic_spec == TopicSpec(4, None, None)
    tuned = CommonSettings(
        api_token=SecretStr("unit-token-0123456789abcdef0123456789abcdef"),
        topic_partitions=12,
        topic_replication_factor=3,
        topic_min_insync_replicas=2,
    )
    assert tuned.topic_spec == TopicSpec(12, 3, 2)
