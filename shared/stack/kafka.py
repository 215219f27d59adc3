"""A single Apache Kafka broker in KRaft combined mode, from Maven Central jars."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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


def write_config(data_dir: Path, port: int, controller_port: int) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    props = data_dir / "server.properties"
    props.write_text(
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                f"log.dirs={data_dir / 'logs'}",
                "num.partitions=4",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=4",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=4",
                "group.initial.rebalance.delay.ms=0",
                "message.max.bytes=2097152",
                "replica.fetch.max.bytes=2097152",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "",
            ]
        )
    )
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


def format_storage(libs: Path, data_dir: Path, props: Path) -> None:
    """Format the log dir once; a formatted dir is left as it is."""
    if (data_dir / "logs" / "meta.properties").exists():
        return
    cluster_id = uuid.uuid4().hex[:22]
    subprocess.run(
        _java(libs, data_dir, STORAGE_TOOL, "format", "-t", cluster_id, "-c", str(props), "-g"),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def start(
    libs: Path,
    data_dir: Path,
    *,
    ports: tuple[int, int] | None = None,
    timeout_s: float = 120.0,
) -> KafkaProcess:
    """Start the broker detached and wait until it answers a metadata request."""
    port, controller_port = ports or (free_port(), free_port())
    props = write_config(data_dir, port, controller_port)
    format_storage(libs, data_dir, props)
    out = data_dir / "broker.out"
    pid = spawn_detached(_java(libs, data_dir, MAIN_CLASS, str(props)), out)
    log = data_dir / "broker.log"

    def ready() -> bool:
        if not pid_alive(pid):
            raise RuntimeError(f"kafka exited during start:\n{_tail(out) or _tail(log)}")
        return port_open(port) and broker_answers(f"127.0.0.1:{port}")

    wait_until(ready, timeout_s, "kafka broker", interval_s=0.5)
    return KafkaProcess(pid, port, log)


def broker_answers(bootstrap: str) -> bool:
    """True when the broker serves metadata (a real client request, not a port check)."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    async def probe() -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.list_topics()
            return True
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
