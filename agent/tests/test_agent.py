"""The reference agent against a real daphne server that gets killed mid-stream."""

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
from channels.db import database_sync_to_async

from agent import reference as agent_module
from agent.reference import Agent, MemoryBuffer, SqliteBuffer, default_buffer_path, encode
from devices import services
from devices.models import Device, Outage
from devtools.stack import BASE_DIR

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
        "agent",
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
    from agent.reference import sysfs_source

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
    from agent.reference import sysfs_source

    with pytest.raises(SystemExit, match="No power supply of type Mains") as refused:
        sysfs_source(str(tmp_path))
    # ...and says what to do instead.
    assert "--source file --file PATH" in str(refused.value)
    assert "--source simulate" in str(refused.value)


def test_the_file_source_reads_on_off_and_refuses_anything_else(tmp_path):
    from agent.reference import file_source

    path = tmp_path / "gpio"
    path.write_text("1\n")
    read = file_source(str(path))
    assert read() == "on"
    path.write_text("OFF")
    assert read() == "off"
    path.write_text("maybe")
    with pytest.raises(ValueError, match="not on/off"):
        read()


def test_the_default_buffer_is_in_the_users_state_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_buffer_path() == tmp_path / "state" / "celc-agent" / "buffer.sqlite3"

    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = tmp_path / "home" / ".local" / "state" / "celc-agent" / "buffer.sqlite3"
    assert default_buffer_path() == expected

    monkeypatch.setenv("XDG_STATE_HOME", "relative/state")  # invalid by the XDG spec: ignored
    assert default_buffer_path() == expected


def test_each_token_has_a_buffer_of_its_own(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))

    one, other = default_buffer_path("ced_one"), default_buffer_path("ced_other")

    assert one != other and one.parent == other.parent == tmp_path / "celc-agent"
    assert "ced_one" not in str(one)  # named by a digest, never the token


@pytest.mark.parametrize("make", [MemoryBuffer, lambda: SqliteBuffer(":memory:")])
def test_an_ack_above_what_the_device_made_moves_its_seq_past_it(make):
    buffer = make()
    buffer.append("2026-11-27T09:00:00+05:30", "off")  # seq 1

    buffer.ack(5000)  # the server holds seq 5000 of this device (a lost buffer, say)

    assert len(buffer) == 0
    assert buffer.append("2026-11-27T09:00:01+05:30", "off")["seq"] == 5001


# The agent as an installer runs it: a real process against a real server -----


class AgentProcess:
    """`python -m agent ...` in a subprocess, its stderr collected line by line."""

    def __init__(self, args, token, *, cwd=BASE_DIR, env=None):
        env = {**os.environ, **(env or {}), "CELC_DEVICE_TOKEN": token}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BASE_DIR), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent", *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def stderr(self):
        return "\n".join(self.lines)

    def wait_for(self, pattern, timeout=60):
        """The first stderr line matching `pattern`, waiting for it as long as `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            if self.process.poll() is not None and not self.reader.is_alive():
                break
            time.sleep(0.1)
        raise AssertionError(f"no line matching {pattern!r} in:\n{self.stderr}")

    def wait_exit(self, timeout=60):
        """The exit status, once it has exited (an AssertionError if it is still running)."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {timeout} s:\n{self.stderr}") from None
        self.reader.join(timeout=10)
        return self.process.returncode

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=30)
        self.reader.join(timeout=10)


@pytest.fixture
def run_agent():
    started = []

    def run(args, token, **kwargs):
        started.append(AgentProcess(args, token, **kwargs))
        return started[-1]

    yield run
    for process in started:
        process.stop()


def simulated(daphne, tmp_path):
    return [
        "--url",
        daphne.url,
        "--source",
        "simulate",
        "--buffer",
        str(tmp_path / "b.sqlite3"),
        "-v",
    ]


def assert_stopped_for_a_new_token(agent, token):
    assert agent.wait_exit() == 2
    assert "ask the installer for a new token" in agent.stderr.lower()
    assert len([line for line in agent.lines if "connecting to" in line]) == 1  # no retry
    assert token not in agent.stderr


def test_a_bad_token_stops_the_agent_and_says_to_ask_for_a_new_one(daphne, tmp_path, run_agent):
    token = "ced_this-is-not-the-token-of-any-device"
    agent = run_agent(simulated(daphne, tmp_path), token)

    assert_stopped_for_a_new_token(agent, token)


def test_a_revoked_token_stops_the_agent_and_says_to_ask_for_a_new_one(
    daphne, alice, register_device, tmp_path, run_agent
):
    device, token = register_device(alice)
    services.device_revoke(device=device)
    agent = run_agent(simulated(daphne, tmp_path), token)

    assert_stopped_for_a_new_token(agent, token)


def test_revoking_a_connected_device_stops_its_agent(
    daphne, alice, register_device, tmp_path, run_agent
):
    device, token = register_device(alice)
    agent = run_agent(simulated(daphne, tmp_path), token)
    agent.wait_for(r"first ack")

    services.device_revoke(device=device)

    assert_stopped_for_a_new_token(agent, token)


def test_with_v_the_agent_tells_the_installer_what_it_does(
    daphne, alice, register_device, tmp_path, run_agent
):
    _, token = register_device(alice)
    mains = tmp_path / "mains"
    mains.write_text("on")
    state = tmp_path / "state"
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    agent = run_agent(
        [
            *("--url", daphne.url, "--source", "file", "--file", str(mains)),
            "--status-every",
            "1",
            "-v",
        ],
        token,
        cwd=workdir,
        env={"XDG_STATE_HOME": str(state)},
    )
    buffer = default_buffer_path(token).relative_to(default_buffer_path(token).parents[1])
    buffer = state / buffer

    assert str(buffer) in agent.wait_for(r"buffer")
    assert daphne.url in agent.wait_for(r"connecting to ")
    agent.wait_for(r"\bconnected$")
    assert re.search(r"seq \d+", agent.wait_for(r"first ack"))
    agent.wait_for(r"power is on")
    agent.wait_for(r"status: connected, .*last acknowledged seq \d+, power on")
    mains.write_text("off")
    agent.wait_for(r"power off: a cut has started")
    mains.write_text("on")
    agent.wait_for(r"power back: the cut lasted \d")
    agent.stop()

    assert token not in agent.stderr
    assert buffer.is_file()
    assert list(workdir.iterdir()) == []  # nothing written where it was started


def test_without_v_the_agent_is_quiet_while_all_is_well(
    daphne, alice, register_device, tmp_path, run_agent
):
    device, token = register_device(alice)
    mains = tmp_path / "mains"
    mains.write_text("off")
    agent = run_agent(
        [
            *("--url", daphne.url, "--source", "file", "--file", str(mains)),
            "--buffer",
            str(tmp_path / "b.sqlite3"),
        ],
        token,
    )
    deadline = time.monotonic() + 60
    while (Device.objects.get(pk=device.pk).last_seq or 0) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert Device.objects.get(pk=device.pk).last_seq >= 3  # streaming, acknowledged
    agent.stop()

    assert agent.stderr == ""


async def test_a_refused_token_ends_the_run_without_raising(daphne, tmp_path):
    # A simulated fleet runs many agents in one gather: one refused device
    # stops alone and says why, the others keep going.
    agent = Agent(daphne.url, "ced_not-a-device", lambda: "off", MemoryBuffer())

    await asyncio.wait_for(agent.run(), timeout=60)

    assert agent.refused is not None
    assert agent.connections == 1


async def test_a_hostile_server_cannot_crash_the_agent_or_forge_its_log(tmp_path, caplog):
    """A server (or anyone on a ws:// path) sending what the protocol never sends."""
    from websockets.asyncio.server import serve

    hostile = [
        "[" * 200_000,  # nested too deep for json
        '{"type": "ack", "seq": 1000000000000000000000000000000}',
        '{"type": "error", "code": "too_old", "seq": [1], "detail": "x"}',
        '{"type": "error", "code": {"a": 1}, "detail": "ok\\n2026-11-30 forged \\u001b[31m"}',
        '{"type": "ack"}',
        "x" * 70_000,
    ] + ['{"type": "error", "code": "bad", "detail": "again"}'] * 50
    done = asyncio.Event()

    async def handler(websocket):
        await websocket.recv()  # the agent's first tick
        for frame in hostile:
            await websocket.send(frame)
        await websocket.send('{"type": "ack", "seq": 1}')
        await done.wait()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        buffer = MemoryBuffer()
        agent = Agent(f"ws://127.0.0.1:{port}/", "ced_x", lambda: "off", buffer)
        with caplog.at_level("WARNING", logger="agent"):
            task = asyncio.create_task(agent.run())
            await until(lambda: agent.acked == 1, timeout=30)
            done.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    assert not task.done() or task.cancelled()  # it ran until cancelled: nothing crashed it
    lines = [r.getMessage() for r in caplog.records if r.name == "agent"]
    assert all("\n" not in line and "\x1b" not in line for line in lines)
    assert len(lines) <= 12  # thousands of bad frames make a few lines, then a count
