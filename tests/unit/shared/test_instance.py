"""Instance slots: two live processes never share an id; a restart gets its id back."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import pytest
from pydantic import SecretStr

from services.ingest.instance import UnsafeLockDir, claim_slot, with_instance_id
from shared.settings.common import CommonSettings

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
                from services.ingest.instance import claim_slot
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


def test_a_missing_lock_dir_is_made_private(tmp_path) -> None:
    folder = tmp_path / "a" / "slots"
    old = os.umask(0)  # even with a permissive umask
    try:
        claim = claim_slot("svc", lock_dir=folder, host="h")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(folder / "svc.0.lock").st_mode) == 0o600
    claim.release()


def test_a_link_planted_at_a_slot_path_is_not_followed(tmp_path) -> None:
    folder, target = tmp_path / "slots", tmp_path / "precious"
    folder.mkdir(mode=0o700)
    target.write_text("keep me\n")
    (folder / "svc.0.lock").symlink_to(target)
    with pytest.raises(UnsafeLockDir, match=r"svc\.0\.lock.*without following a link"):
        claim_slot("svc", lock_dir=folder, host="h")
    assert target.read_text() == "keep me\n"


def test_a_link_in_place_of_the_lock_dir_is_refused(tmp_path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "slots").symlink_to(real)
    with pytest.raises(UnsafeLockDir, match="cannot be opened as a directory"):
        claim_slot("svc", lock_dir=tmp_path / "slots", host="h")
    assert os.listdir(real) == []


def test_a_lock_dir_others_can_write_is_refused(tmp_path) -> None:
    folder = tmp_path / "slots"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(
        UnsafeLockDir, match=r"mode 777: group or others can write.*VIGIL_INSTANCE_LOCK_DIR"
    ):
        claim_slot("svc", lock_dir=folder, host="h")
    assert os.listdir(folder) == []


def test_a_lock_dir_of_ours_that_others_could_only_read_is_made_private(tmp_path) -> None:
    folder = tmp_path / "slots"
    folder.mkdir()
    folder.chmod(0o755)  # as earlier versions made it
    claim_slot("svc", lock_dir=folder, host="h").release()
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_lock_dir_or_file_of_another_user_is_refused_and_not_truncated(tmp_path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    with pytest.raises(UnsafeLockDir, match="owned by uid 65534"):
        claim_slot("svc", lock_dir=theirs, host="h")
    ours = tmp_path / "ours"
    ours.mkdir(mode=0o700)
    planted = ours / "svc.0.lock"
    planted.write_text("their data\n")
    os.chown(planted, 65534, 65534)
    with pytest.raises(UnsafeLockDir, match="not a regular file owned by this user"):
        claim_slot("svc", lock_dir=ours, host="h")
    assert planted.read_text() == "their data\n"
