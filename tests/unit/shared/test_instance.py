"""Instance slots: two live processes never share an id; a restart gets its id back."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from pydantic import SecretStr

from shared.instance import claim_slot, with_instance_id
from shared.settings import CommonSettings

TOKEN = SecretStr("unit-token-0123456789abcdef0123456789abcdef")


def settings(**values: object) -> CommonSettings:
    return CommonSettings(api_token=TOKEN, **values)  # type: ignore[arg-type]


def test_concurrent_claims_get_different_slots_and_a_released_slot_is_reused(tmp_path) -> None:
    first = claim_slot("vigil-ingest", lock_dir=tmp_path, host="h")
    second = claim_slot("vigil-ingest", lock_dir=tmp_path, host="h")
    assert (first.instance_id, second.instance_id) == ("h-0", "h-1")
    first.release()
    again = claim_slot("vigil-ingest", lock_dir=tmp_path, host="h")
    assert again.instance_id == "h-0"
    other = claim_slot("vigil-scoring", lock_dir=tmp_path, host="h")
    assert other.instance_id == "h-0", "slots are counted per name"
    for claim in (second, again, other):
        claim.release()


def test_a_killed_process_frees_its_slot(tmp_path) -> None:
    """The lock dies with the process, even on SIGKILL: the restart re-uses the id."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from pathlib import Path
                from shared.instance import claim_slot
                claim = claim_slot("svc", lock_dir=Path({str(tmp_path)!r}), host="h")
                print(claim.instance_id, flush=True)
                time.sleep(60)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "h-0"
        busy = claim_slot("svc", lock_dir=tmp_path, host="h")
        assert busy.instance_id == "h-1"
        busy.release()
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
    assert claim_slot("svc", lock_dir=tmp_path, host="h").instance_id == "h-0"


def test_a_configured_instance_id_wins_and_claims_nothing(tmp_path) -> None:
    given = settings(instance_id="pod-7", instance_lock_dir=str(tmp_path))
    resolved, claim = with_instance_id(given, "vigil-ingest")
    assert resolved.instance_id == "pod-7" and claim.slot is None
    assert os.listdir(tmp_path) == []


def test_an_unset_instance_id_is_claimed_per_process(tmp_path) -> None:
    base = settings(instance_lock_dir=str(tmp_path))
    one, claim_one = with_instance_id(base, "vigil-ingest")
    two, claim_two = with_instance_id(base, "vigil-ingest")
    assert one.instance_id and two.instance_id and one.instance_id != two.instance_id
    assert base.instance_id is None, "the settings given are not changed"
    claim_one.release()
    claim_two.release()


@pytest.mark.parametrize("host", [" ", "\t"])
def test_an_empty_host_name_still_gives_an_id(tmp_path, host: str) -> None:
    claim = claim_slot("svc", lock_dir=tmp_path, host=host)
    assert claim.instance_id == "localhost-0"
    claim.release()
