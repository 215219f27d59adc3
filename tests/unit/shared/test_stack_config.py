"""The local stack's configuration: the broker (one node or one of three), PostgreSQL."""

from __future__ import annotations

from shared.stack import postgres
from shared.stack.kafka import write_config


def props(path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_a_single_broker_keeps_one_replica_of_everything(tmp_path) -> None:
    single = props(write_config(tmp_path, 9092, 9093))
    assert single["node.id"] == "1"
    assert single["controller.quorum.voters"] == "1@127.0.0.1:9093"
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "min.insync.replicas",
        "transaction.state.log.min.isr",
    ):
        assert single[key] == "1", key


def test_a_cluster_node_joins_the_quorum_and_replicates_three_times(tmp_path) -> None:
    voters = "1@127.0.0.1:1,2@127.0.0.1:2,3@127.0.0.1:3"
    node = props(write_config(tmp_path, 9094, 2, node_id=2, voters=voters, replicas=3))
    assert (node["node.id"], node["controller.quorum.voters"]) == ("2", voters)
    assert node["listeners"] == "PLAINTEXT://127.0.0.1:9094,CONTROLLER://127.0.0.1:2"
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
    ):
        assert node[key] == "3", key
    # one of three brokers may be lost without refusing a write
    assert node["min.insync.replicas"] == node["transaction.state.log.min.isr"] == "2"


GIB = 1024**3


def test_throwaway_postgres_gets_a_quarter_of_memory_within_bounds() -> None:
    assert postgres.shared_buffers_mb(24 * GIB) == 2048  # capped: a dev machine
    assert postgres.shared_buffers_mb(4 * GIB) == 1024
    assert postgres.shared_buffers_mb(256 * 1024**2) == 128  # never under PostgreSQL's default
    assert 128 <= postgres.shared_buffers_mb() <= 2048  # this machine
