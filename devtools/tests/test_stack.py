"""`python -m devtools.stack`, what `make run` ends with: starts everything, stops everything."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import psutil
from celery import Celery

from devtools.stack import BASE_DIR, free_port, port_is_free


def wait_until(predicate, timeout=90, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up waiting after {timeout} s")


def test_it_starts_redis_daphne_celery_and_the_fleet_and_ctrl_c_stops_them_all(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DJANGO_DEBUG="1",
        CELC_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PYTHONUNBUFFERED="1",
    )
    for command in (["migrate", "--noinput"], ["demo_data"]):  # what `make run` does first
        subprocess.run([sys.executable, "manage.py", *command], cwd=BASE_DIR, env=env, check=True)
    stack = subprocess.Popen(
        [sys.executable, "-m", "devtools.stack", "--port", str(port), "--fleet", "4"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(stack.stdout), daemon=True).start()
    try:
        banner = wait_until(lambda: re.search(r"Redis\s+(redis://\S+) \(private", "".join(output)))
        redis_url = banner.group(1)
        assert redis_url != os.environ.get("REDIS_URL")

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as response:
            assert response.status == 200
            assert b"Central Electric" in response.read()

        celery = Celery(broker=redis_url)
        assert wait_until(lambda: celery.control.ping(timeout=1.0))

        children = psutil.Process(stack.pid).children(recursive=True)
        names = " ".join(" ".join(child.cmdline()) for child in children)
        assert "redis-server" in names and "daphne" in names
        assert "worker" in names and "beat" in names and "simulate_fleet" in names
        assert wait_until(lambda: "Fleet: 4 simulated devices" in "".join(output))
    finally:
        stack.send_signal(signal.SIGINT)
        assert stack.wait(timeout=60) == 0

    assert "All stopped." in "".join(output)
    assert not [child for child in children if child.is_running() and child.status() != "zombie"]
    assert port_is_free("127.0.0.1", port)


def test_signals_to_its_process_group_while_it_stops_still_stop_everything(tmp_path):
    """`kill -TERM -- -<pgid of make run>`: make passes the SIGTERM on, so the supervisor hears
    it twice or more, and keeps hearing signals while it stops; it stops all the same."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(
        DJANGO_DEBUG="1",
        CELC_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PYTHONUNBUFFERED="1",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=BASE_DIR, env=env, check=True
    )
    stack = subprocess.Popen(
        [sys.executable, "-m", "devtools.stack", "--port", str(port), "--fleet", "0"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a process group of its own, as `make run` has
    )
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(stack.stdout), daemon=True).start()
    children = []
    try:
        wait_until(lambda: "Central Electric is running" in "".join(output))
        children = psutil.Process(stack.pid).children(recursive=True)
        names = " ".join(" ".join(child.cmdline()) for child in children)
        assert "redis-server" in names and "daphne" in names and "worker" in names

        os.killpg(stack.pid, signal.SIGTERM)  # the group's signal
        os.killpg(stack.pid, signal.SIGTERM)  # and make's, passed on
        while stack.poll() is None:  # and more while it stops, of both kinds
            with contextlib.suppress(ProcessLookupError):
                os.killpg(stack.pid, signal.SIGTERM)
                os.killpg(stack.pid, signal.SIGINT)
            time.sleep(0.05)

        assert stack.wait() == 0
        assert "All stopped." in "".join(output)
        alive = lambda: [c for c in children if c.is_running() and c.status() != "zombie"]  # noqa: E731
        assert not alive(), [" ".join(c.cmdline()) for c in alive()]
        assert port_is_free("127.0.0.1", port)
    finally:
        for process in [psutil.Process(stack.pid), *children] if stack.poll() is None else children:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
