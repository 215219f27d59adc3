"""Running a Vigil service as a real process, to kill it and start it again."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.support.services import Service


class ServiceProcess(Service):
    """``vigil <service>`` with the given settings; its log in ``log_dir``."""

    def __init__(self, service: str, env: dict[str, str], log_dir: Path) -> None:
        log = log_dir / f"{service}-{uuid.uuid4().hex[:6]}.log"
        super().__init__(service, {**env, "VIGIL_LOG_JSON": "true"}, log)
