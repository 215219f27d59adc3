"""The local development and test stack: a real Kafka broker and PostgreSQL server.

``up`` starts both (or reuses a running pair), ``down`` stops both and removes
their throwaway data, ``status`` reports them. ``brokers=3`` runs a 3-node KRaft
cluster instead of one broker (replication factor 3, ``min.insync.replicas=2``);
``kill_broker``/``start_broker`` take one node away and bring it back. ``secure=True``
runs the broker with SASL_SSL and mutual-TLS listeners only (:mod:`shared.stack.secure_kafka`);
the settings a client needs are kept in ``StackInfo.kafka_env``. State lives in
``<stack_dir>/stack.json``; leftovers of a crashed run are found and cleaned.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from shared.settings.connections import KafkaConnection
from shared.stack import kafka, postgres, secure_kafka
from shared.stack.process import kill_process, processes_mentioning, stop_process

Echo = Callable[[str], None]


def _quiet(_line: str) -> None:
    """The default progress sink: say nothing."""


@dataclass(frozen=True)
class StackConfig:
    stack_dir: Path
    kafka_version: str = "4.1.1"
    kafka_home: Path | None = None
    kafka_cache: Path = field(default_factory=lambda: Path.home() / ".cache" / "vigil")
    brokers: int = 1
    secure: bool = False  # SASL_SSL and mutual TLS only (one broker)

    @classmethod
    def from_env(cls, repo_root: Path) -> StackConfig:
        """The one place the stack reads the environment."""
        home = os.environ.get("KAFKA_HOME")
        return cls(
            stack_dir=Path(os.environ.get("VIGIL_STACK_DIR", repo_root / ".vigil" / "stack")),
            kafka_home=Path(home) if home else None,
            kafka_cache=Path(os.environ.get("VIGIL_KAFKA_CACHE", Path.home() / ".cache" / "vigil")),
        )


@dataclass(frozen=True)
class StackInfo:
    kafka_bootstrap: str
    database_url: str
    kafka_pid: int
    postgres_pid: int
    kafka_log: Path
    postgres_log: Path
    kafka_port: int = 0
    postgres_port: int = 0
    # every node of a cluster: {"node_id", "pid", "port", "controller_port"}
    kafka_nodes: tuple[dict[str, int], ...] = ()
    # a secure broker's VIGIL_KAFKA_* client settings (empty: PLAINTEXT)
    kafka_env: dict[str, str] = field(default_factory=dict)

    @property
    def kafka(self) -> KafkaConnection:
        """How a client reaches the stack's broker."""
        return secure_kafka.connection_from_env(self.kafka_bootstrap, self.kafka_env)


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    address: str | None
    pid: int | None


def _state_file(config: StackConfig) -> Path:
    return config.stack_dir / "stack.json"


def _read_state(config: StackConfig) -> StackInfo | None:
    try:
        raw = json.loads(_state_file(config).read_text())
        raw["kafka_log"], raw["postgres_log"] = Path(raw["kafka_log"]), Path(raw["postgres_log"])
        raw["kafka_nodes"] = tuple(raw.get("kafka_nodes", ()))
        return StackInfo(**raw)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _write_state(config: StackConfig, info: StackInfo) -> None:
    data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(info).items()}
    _state_file(config).write_text(json.dumps(data, indent=2))


def up(config: StackConfig, *, echo: Echo = _quiet) -> StackInfo:
    """Start Kafka and PostgreSQL, or return the running pair recorded in stack.json."""
    current = _read_state(config)
    if (
        current is not None
        and _healthy(current)
        and _node_count(current) == config.brokers
        and bool(current.kafka_env) == config.secure
    ):
        echo(f"kafka already running at {current.kafka_bootstrap} (pid {current.kafka_pid})")
        echo(f"postgresql already running at {current.database_url} (pid {current.postgres_pid})")
        return current
    _clean(config, current, echo)
    config.stack_dir.mkdir(parents=True, exist_ok=True)
    libs = kafka.resolve_libs(config.kafka_version, config.kafka_cache, config.kafka_home, echo)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pg_future = pool.submit(postgres.start, config.stack_dir / "pg")
        kafka_future = pool.submit(_start_kafka, config, libs)
        pg = pg_future.result()
        nodes, kafka_env = kafka_future.result()
    info = StackInfo(
        # a secure broker is reached by the name in its certificate
        kafka_bootstrap=kafka_env.pop("VIGIL_KAFKA_BOOTSTRAP", "")
        or ",".join(f"127.0.0.1:{n.port}" for n in nodes),
        database_url=pg.url,
        kafka_pid=nodes[0].pid,
        postgres_pid=pg.pid,
        kafka_log=nodes[0].log,
        postgres_log=pg.log,
        kafka_port=nodes[0].port,
        postgres_port=pg.port,
        kafka_nodes=tuple(_node_record(n) for n in nodes) if config.brokers > 1 else (),
        kafka_env=kafka_env,
    )
    _write_state(config, info)
    shape = f"KRaft, {len(nodes)} nodes" if len(nodes) > 1 else "KRaft"
    shape += ", SASL_SSL" if config.secure else ""
    where = f"{info.kafka_bootstrap} (pid {info.kafka_pid})"
    echo(f"kafka {config.kafka_version} ({shape}) ready at {where}")
    echo(f"postgresql {pg.version} ready at {pg.url} (pid {pg.pid})")
    return info


def _start_kafka(
    config: StackConfig, libs: Path
) -> tuple[list[kafka.KafkaProcess], dict[str, str]]:
    """The nodes, and the ``VIGIL_KAFKA_*`` client settings of a secure broker."""
    if config.secure:
        if config.brokers != 1:
            raise ValueError("a secure stack runs one broker")
        broker = secure_kafka.start(libs, config.stack_dir / "kafka")
        return [broker.process], broker.env()
    if config.brokers == 1:
        return [kafka.start(libs, config.stack_dir / "kafka")], {}
    return kafka.start_cluster(libs, config.stack_dir / "kafka", config.brokers), {}


def _node_record(node: kafka.KafkaProcess) -> dict[str, int]:
    return {
        "node_id": node.node_id,
        "pid": node.pid,
        "port": node.port,
        "controller_port": node.controller_port,
    }


def _node_count(info: StackInfo) -> int:
    return len(info.kafka_nodes) or 1


def _healthy(info: StackInfo) -> bool:
    nodes = info.kafka_nodes or ({"pid": info.kafka_pid, "port": info.kafka_port},)
    brokers = all(kafka.alive(n["pid"], n["port"]) for n in nodes)
    return brokers and postgres.alive(info.postgres_pid)


def _clean(config: StackConfig, stale: StackInfo | None, echo: Echo) -> None:
    """Stop whatever a previous run left behind and drop its throwaway data."""
    leftovers = processes_mentioning(str(config.stack_dir))
    if stale is None and not leftovers and not config.stack_dir.exists():
        return
    if stale is not None or leftovers:
        echo(f"cleaning leftovers of a previous run in {config.stack_dir}")
    postgres.stop(config.stack_dir / "pg", stale.postgres_pid if stale else None)
    if stale is not None:
        for pid in [stale.kafka_pid, *(n["pid"] for n in stale.kafka_nodes)]:
            stop_process(pid)
    for pid in processes_mentioning(str(config.stack_dir)):
        stop_process(pid, timeout_s=5)
    for sub in ("kafka", "pg", "stack.json"):
        target = config.stack_dir / sub
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        elif target.exists():
            target.unlink()


def stop_postgres(config: StackConfig) -> None:
    """Stop PostgreSQL as a crash would but keep its data (to test an outage); see
    ``start_postgres``. With ``synchronous_commit=off`` (this stack's setting) the last
    commits, up to about 0.6 s of them, are lost: the services must survive that too."""
    info = _read_state(config)
    postgres.stop(config.stack_dir / "pg", info.postgres_pid if info else None, mode="immediate")


def start_postgres(config: StackConfig) -> None:
    """Start PostgreSQL again on the port it had."""
    info = _read_state(config)
    assert info is not None, "no stack recorded"
    pg = postgres.start(config.stack_dir / "pg", port=info.postgres_port)
    _write_state(config, replace(info, postgres_pid=pg.pid))


def restart_kafka(config: StackConfig, *, down_s: float = 0.0) -> None:
    """Stop the broker, stay down ``down_s`` seconds, start it again on the same ports."""
    info = _read_state(config)
    assert info is not None, "no stack recorded"
    props = (config.stack_dir / "kafka" / "server.properties").read_text()
    controller = int(props.split("CONTROLLER://127.0.0.1:")[1].split("\n")[0].split(",")[0])
    stop_process(info.kafka_pid)
    time.sleep(down_s)  # the outage itself, not a synchronization
    libs = kafka.resolve_libs(config.kafka_version, config.kafka_cache, config.kafka_home, _quiet)
    broker = kafka.start(libs, config.stack_dir / "kafka", ports=(info.kafka_port, controller))
    _write_state(config, replace(info, kafka_pid=broker.pid))


def kill_broker(config: StackConfig, node_id: int) -> None:
    """SIGKILL one node of the cluster: no controlled shutdown, no leader hand-over."""
    info = _read_state(config)
    assert info is not None and info.kafka_nodes, "no cluster recorded"
    node = next(n for n in info.kafka_nodes if n["node_id"] == node_id)
    kill_process(node["pid"])


def start_broker(config: StackConfig, node_id: int) -> None:
    """Start a killed node again on its ports, with its data; it catches up as a follower."""
    info = _read_state(config)
    assert info is not None and info.kafka_nodes, "no cluster recorded"
    record = next(n for n in info.kafka_nodes if n["node_id"] == node_id)
    libs = kafka.resolve_libs(config.kafka_version, config.kafka_cache, config.kafka_home, _quiet)
    old = kafka.KafkaProcess(
        record["pid"], record["port"], Path(), record["controller_port"], node_id
    )
    again = kafka.restart_node(libs, config.stack_dir / "kafka", old)
    nodes = tuple(_node_record(again) if n["node_id"] == node_id else n for n in info.kafka_nodes)
    first = nodes[0]
    _write_state(config, replace(info, kafka_nodes=nodes, kafka_pid=first["pid"]))


def down(config: StackConfig, *, echo: Echo = _quiet) -> None:
    """Stop both and remove their data; no process of ours is left."""
    state = _read_state(config)
    _clean(config, state, _quiet)
    echo(f"stack in {config.stack_dir} stopped")


def status(config: StackConfig) -> dict[str, ComponentStatus]:
    info = _read_state(config)
    if info is None:
        return {
            "kafka": ComponentStatus("kafka", False, None, None),
            "postgresql": ComponentStatus("postgresql", False, None, None),
        }
    out = {
        "kafka": ComponentStatus(
            "kafka",
            kafka.alive(info.kafka_pid, info.kafka_port),
            info.kafka_bootstrap,
            info.kafka_pid,
        ),
        "postgresql": ComponentStatus(
            "postgresql", postgres.alive(info.postgres_pid), info.database_url, info.postgres_pid
        ),
    }
    for n in info.kafka_nodes:
        name = f"kafka node {n['node_id']}"
        out[name] = ComponentStatus(
            name, kafka.alive(n["pid"], n["port"]), f"127.0.0.1:{n['port']}", n["pid"]
        )
    return out
