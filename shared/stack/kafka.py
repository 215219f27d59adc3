"""Apache Kafka in KRaft combined mode, from Maven Central jars: one node or a small cluster.

Every node is broker and controller; a cluster's nodes are voters of one
quorum on loopback, formatted with one cluster id. With 3 nodes the internal
topics and new topics default to 3 replicas and ``min.insync.replicas=2``, so
one node can die without losing a write or stopping one.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.kafka.connect import Brokers, client_options
from shared.stack.process import free_port, pid_alive, port_open, spawn_detached, wait_until

POM = Path(__file__).resolve().parents[2] / "deploy" / "local" / "pom.xml"
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
Echo = Callable[[str], None]


@dataclass(frozen=True)
class KafkaProcess:
    pid: int
    port: int
    log: Path
    controller_port: int = 0
    node_id: int = 1


def resolve_libs(version: str, cache: Path, kafka_home: Path | None, echo: Echo) -> Path:
    """The broker's class path folder: ``$KAFKA_HOME/libs``, or jars cached from Maven."""
    if kafka_home is not None:
        libs = kafka_home / "libs"
        if not libs.is_dir():
            raise FileNotFoundError(f"KAFKA_HOME has no libs folder: {libs}")
        return libs
    libs = cache / f"kafka-{version}" / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None:
        raise FileNotFoundError("Maven (mvn) is needed to fetch Kafka's jars, or set KAFKA_HOME")
    echo(f"kafka: resolving Apache Kafka {version} jars with mvn (first run; cached in {libs})")
    libs.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            f"-Dkafka.version={version}",
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ],
        check=True,
    )
    marker.touch()
    return libs


def write_config(
    data_dir: Path,
    port: int,
    controller_port: int,
    *,
    node_id: int = 1,
    voters: str | None = None,
    replicas: int = 1,
    overrides: Mapping[str, str] | None = None,
) -> Path:
    """``server.properties`` of one node; ``voters`` lists the quorum (default: this node);
    ``overrides`` replaces or adds properties (a secure node's listeners, TLS, SASL)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    min_isr = min(2, replicas)
    props = data_dir / "server.properties"
    lines = dict(
        line.split("=", 1)
        for line in [
            "process.roles=broker,controller",
            f"node.id={node_id}",
            f"controller.quorum.voters={voters or f'{node_id}@127.0.0.1:{controller_port}'}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={data_dir / 'logs'}",
            "num.partitions=4",
            "auto.create.topics.enable=false",
            f"default.replication.factor={replicas}",
            f"min.insync.replicas={min_isr}",
            f"offsets.topic.replication.factor={replicas}",
            "offsets.topic.num.partitions=4",
            f"transaction.state.log.replication.factor={replicas}",
            f"transaction.state.log.min.isr={min_isr}",
            "transaction.state.log.num.partitions=4",
            "group.initial.rebalance.delay.ms=0",
            "message.max.bytes=2097152",
            "replica.fetch.max.bytes=2097152",
            f"share.coordinator.state.topic.replication.factor={replicas}",
            f"share.coordinator.state.topic.min.isr={min_isr}",
        ]
    )
    lines.update(overrides or {})
    props.write_text("".join(f"{key}={value}\n" for key, value in lines.items()))
    (data_dir / "log4j2.properties").write_text(
        "\n".join(
            [
                "status = warn",
                "appender.file.type = File",
                "appender.file.name = file",
                f"appender.file.fileName = {data_dir / 'broker.log'}",
                "appender.file.layout.type = PatternLayout",
                "appender.file.layout.pattern = [%d] %p %m (%c)%n",
                "rootLogger.level = INFO",
                "rootLogger.appenderRef.file.ref = file",
                "logger.kafka.name = kafka",
                "logger.kafka.level = INFO",
                "logger.state.name = state.change.logger",
                "logger.state.level = WARN",
                "",
            ]
        )
    )
    return props


def _java(libs: Path, data_dir: Path, *args: str) -> list[str]:
    return [
        shutil.which("java") or "java",
        "-Xms256m",
        "-Xmx768m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={data_dir / 'log4j2.properties'}",
        "-cp",
        f"{libs}/*",
        *args,
    ]


def format_storage(
    libs: Path,
    data_dir: Path,
    props: Path,
    cluster_id: str | None = None,
    *,
    scram: tuple[str, ...] = (),
) -> None:
    """Format the log dir once; a formatted dir is left as it is. ``scram`` holds
    credentials written into the metadata log (``SCRAM-SHA-512=[name=..,password=..]``)."""
    if (data_dir / "logs" / "meta.properties").exists():
        return
    cluster_id = cluster_id or uuid.uuid4().hex[:22]
    users = [arg for credential in scram for arg in ("--add-scram", credential)]
    subprocess.run(
        _java(
            libs, data_dir, STORAGE_TOOL, "format", "-t", cluster_id, "-c", str(props), "-g", *users
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def start(
    libs: Path,
    data_dir: Path,
    *,
    ports: tuple[int, int] | None = None,
    timeout_s: float = 120.0,
    overrides: Mapping[str, str] | None = None,
    scram: tuple[str, ...] = (),
    client: Brokers | None = None,
) -> KafkaProcess:
    """Start the broker detached and wait until it answers a metadata request (asked
    through ``client`` when its listener is not PLAINTEXT on ``ports[0]``)."""
    port, controller_port = ports or (free_port(), free_port())
    props = write_config(data_dir, port, controller_port, overrides=overrides)
    format_storage(libs, data_dir, props, scram=scram)
    node = _spawn(libs, data_dir, port, controller_port, 1)
    _wait_ready([node], data_dir, timeout_s, client=client)
    return node


def start_cluster(
    libs: Path, data_dir: Path, nodes: int, *, timeout_s: float = 180.0
) -> list[KafkaProcess]:
    """Start ``nodes`` combined nodes under ``data_dir/node-<id>``, one quorum, all ready."""
    ports = {node_id: (free_port(), free_port()) for node_id in range(1, nodes + 1)}
    voters = ",".join(f"{n}@127.0.0.1:{c}" for n, (_p, c) in ports.items())
    cluster_id = uuid.uuid4().hex[:22]
    dirs = {n: node_dir(data_dir, n) for n in ports}
    for n, (port, cport) in ports.items():
        props = write_config(dirs[n], port, cport, node_id=n, voters=voters, replicas=min(3, nodes))
        format_storage(libs, dirs[n], props, cluster_id)
    # all at once: a node is not ready before a majority of the quorum runs
    started = [_spawn(libs, dirs[n], port, cport, n) for n, (port, cport) in ports.items()]
    _wait_ready(started, data_dir, timeout_s, brokers=nodes)
    return started


def restart_node(
    libs: Path, data_dir: Path, node: KafkaProcess, *, timeout_s: float = 120.0
) -> KafkaProcess:
    """Start a stopped node of a cluster again on its ports, with its data."""
    directory = node_dir(data_dir, node.node_id)
    again = _spawn(libs, directory, node.port, node.controller_port, node.node_id)
    _wait_ready([again], directory, timeout_s)
    return again


def node_dir(data_dir: Path, node_id: int) -> Path:
    return data_dir / f"node-{node_id}"


def _spawn(
    libs: Path, data_dir: Path, port: int, controller_port: int, node_id: int
) -> KafkaProcess:
    """Start a formatted node detached (not waiting for it)."""
    props = data_dir / "server.properties"
    pid = spawn_detached(_java(libs, data_dir, MAIN_CLASS, str(props)), data_dir / "broker.out")
    return KafkaProcess(pid, port, data_dir / "broker.log", controller_port, node_id)


def _wait_ready(
    nodes: list[KafkaProcess],
    data_dir: Path,
    timeout_s: float,
    *,
    brokers: int = 1,
    client: Brokers | None = None,
) -> None:
    bootstrap = client or ",".join(f"127.0.0.1:{n.port}" for n in nodes)

    def ready() -> bool:
        for n in nodes:
            if not pid_alive(n.pid):
                out = n.log.with_name("broker.out")
                raise RuntimeError(f"kafka exited during start:\n{_tail(out) or _tail(n.log)}")
        return all(port_open(n.port) for n in nodes) and broker_answers(bootstrap, brokers)

    wait_until(ready, timeout_s, f"kafka ({len(nodes)} node(s)) in {data_dir}", interval_s=0.5)


def broker_answers(bootstrap: Brokers, brokers: int = 1) -> bool:
    """True when the cluster serves metadata listing ``brokers`` brokers (a real request)."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(**client_options(bootstrap), request_timeout_ms=3000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            return len(cluster["brokers"]) >= brokers
        except Exception:  # noqa: BLE001 - not ready yet
            return False
        finally:
            await admin.close()

    return asyncio.run(probe())


def alive(pid: int | None, port: int | None) -> bool:
    return pid_alive(pid) and port is not None and port_open(port)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
