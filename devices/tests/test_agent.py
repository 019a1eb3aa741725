"""The reference agent against a real daphne server that gets killed mid-stream."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest
from channels.db import database_sync_to_async

from celc.stack import BASE_DIR
from devices import agent as agent_module
from devices.agent import Agent, MemoryBuffer, SqliteBuffer, encode
from devices.models import Device, Outage

pytestmark = pytest.mark.django_db(transaction=True)


class Recording:
    """A buffer that remembers every tick the agent ever made."""

    def __init__(self, inner):
        self.inner = inner
        self.made = []

    def append(self, ts, power):
        tick = self.inner.append(ts, power)
        self.made.append(tick)
        return tick

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __len__(self):
        return len(self.inner)


async def until(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate() if asyncio.iscoroutinefunction(predicate) else predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("timed out")


@database_sync_to_async
def outage_of(device):
    return Outage.objects.get(device=device)


async def test_killing_the_server_mid_stream_loses_and_doubles_nothing(
    daphne, alice, register_device, tmp_path, monkeypatch
):
    monkeypatch.setattr(agent_module, "BACKOFF_CAP", 1.0)
    device, token = await database_sync_to_async(register_device)(alice)
    power = {"now": "off"}
    buffer = Recording(SqliteBuffer(tmp_path / "buffer.sqlite3"))
    agent = Agent(daphne.url, token, lambda: power["now"], buffer)
    task = asyncio.create_task(agent.run())
    try:
        await until(lambda: (agent.acked or 0) >= 3)
        daphne.kill()
        await asyncio.sleep(3)  # ticks pile up in the buffer meanwhile
        assert len(buffer) >= 3
        daphne.start()
        await until(lambda: agent.connections >= 2)
        power["now"] = "on"
        await until(lambda: len(buffer) == 0 and buffer.made[-1]["power"] == "on")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    outage = await outage_of(device)
    off_ticks = [t for t in buffer.made if t["power"] == "off"]
    assert outage.status == "ended"
    assert outage.ticks_received == len(off_ticks)
    assert (outage.first_seq, outage.last_seq) == (buffer.made[0]["seq"], buffer.made[-1]["seq"])
    # One second of witnessed time per tick interval, none counted twice.
    assert abs(outage.witnessed_seconds - len(off_ticks)) < 1


def test_kill_9_of_the_agent_itself_loses_and_doubles_nothing(
    daphne, alice, register_device, tmp_path
):
    device, token = register_device(alice)
    mains = tmp_path / "mains"
    mains.write_text("off")
    buffer_path = tmp_path / "agent.sqlite3"
    argv = [
        sys.executable,
        "-m",
        "devices.agent",
        "--url",
        daphne.url,
        "--source",
        "file",
        "--file",
        str(mains),
        "--buffer",
        str(buffer_path),
    ]
    env = {**os.environ, "CELC_DEVICE_TOKEN": token}

    def last_seq():
        device.refresh_from_db()
        return device.last_seq or 0

    for _ in range(2):
        process = subprocess.Popen(argv, cwd=BASE_DIR, env=env)
        start = last_seq()
        deadline = time.monotonic() + 60
        while last_seq() < start + 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGKILL)
        process.wait()
    mains.write_text("on")
    process = subprocess.Popen(argv, cwd=BASE_DIR, env=env)
    try:
        deadline = time.monotonic() + 60
        while Device.objects.get(pk=device.pk).power_state != "on" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        process.terminate()
        process.wait()

    outage = Outage.objects.get(device=device)
    made = SqliteBuffer(buffer_path).db.execute("SELECT value FROM meta").fetchone()[0] - 1
    assert outage.status == "ended"
    assert outage.last_seq == made  # the agent's last tick is stored...
    assert outage.first_seq == 1
    assert outage.ticks_received == made - 1  # ...and every off tick before it, once


def test_a_replay_is_cut_into_frames_the_server_accepts():
    buffer = MemoryBuffer()
    for n in range(2500):
        buffer.append(f"2026-11-27T09:{n // 60 % 60:02d}:{n % 60:02d}.000+05:30", "off")

    frame, count = encode(buffer.after(0, 1000))

    assert len(frame.encode()) <= 64 * 1024
    assert 500 < count <= 1000


def test_the_sqlite_buffer_keeps_seq_across_restarts(tmp_path):
    path = tmp_path / "b.sqlite3"
    first = SqliteBuffer(path)
    first.append("2026-11-27T09:00:00+05:30", "off")
    first.append("2026-11-27T09:00:01+05:30", "off")
    first.ack(2)

    again = SqliteBuffer(path)

    assert again.append("2026-11-27T09:00:02+05:30", "off")["seq"] == 3
    assert [t["seq"] for t in again.after(0, 10)] == [3]


def test_the_sysfs_source_reads_the_mains_supplies_only(tmp_path):
    from devices.agent import sysfs_source

    for name, kind, online in [
        ("AC", "Mains", "0"),
        ("BAT0", "Battery", "1"),
        ("ADP1", "Mains", "0"),
    ]:
        (tmp_path / name).mkdir()
        (tmp_path / name / "type").write_text(kind + "\n")
        (tmp_path / name / "online").write_text(online + "\n")
    read = sysfs_source(str(tmp_path))

    assert read() == "off"  # the battery's "online" does not count
    (tmp_path / "ADP1" / "online").write_text("1\n")
    assert read() == "on"


def test_the_sysfs_source_refuses_a_machine_without_mains(tmp_path):
    from devices.agent import sysfs_source

    with pytest.raises(SystemExit, match="No power supply of type Mains"):
        sysfs_source(str(tmp_path))


def test_the_file_source_reads_on_off_and_refuses_anything_else(tmp_path):
    from devices.agent import file_source

    path = tmp_path / "gpio"
    path.write_text("1\n")
    read = file_source(str(path))
    assert read() == "on"
    path.write_text("OFF")
    assert read() == "off"
    path.write_text("maybe")
    with pytest.raises(ValueError, match="not on/off"):
        read()
