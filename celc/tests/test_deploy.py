"""Production on one machine as docs/deploy.md installs it, on loopback.

Caddy runs deploy/Caddyfile (its internal CA instead of Let's Encrypt, ports
of the test's own instead of 80 and 443); two daphne processes, the Celery
worker and beat each run the ExecStart of their systemd unit in deploy/systemd/
(the instance and the install paths substituted), in the environment the unit
gives them: its own lines and an env file made from deploy/celc.env.example.
Production settings (DEBUG off, HTTPS, behind the TLS proxy), a private Redis,
static files collected by deploy/celc-manage.

Then a device streams a cut over wss:// through Caddy, trusting only Caddy's
root certificate, and is acknowledged; its household signs in in Chromium
over https:// and watches its balance rise over wss://; page loads go to the
web process without the device's socket (Caddy's least_conn), so both serve;
static files come from Caddy; with one web process stopped the site still answers.
"""

import asyncio
import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from websockets.asyncio.client import connect

from conftest import database_url_under_test
from devtools.stack import BASE_DIR, daphne_argv, free_port, redis_argv, wait_for_port
from faults.test_faults import until

DEPLOY = BASE_DIR / "deploy"
CADDY = "/usr/bin/caddy"
# Where docs/deploy.md installs things: the units and scripts name these.
INSTALLED_APP, INSTALLED_PYTHON = "/opt/celc/app", "/opt/celc/venv/bin/python"
# What only the test adds to the global options: no public CA, no trust store, no admin
# endpoint (the machine's own Caddy may hold :2019), loopback only.
TEST_GLOBAL_OPTIONS = "\tlocal_certs\n\tskip_install_trust\n\tadmin off\n\tdefault_bind 127.0.0.1\n"
# The server's code: every package but the device side, the tools, benchmarks and faults.
NOT_THE_SERVER = {"agent", "bench", "devtools", "faults", "docs"}
PRODUCT_APPS = sorted({p.parent.name for p in BASE_DIR.glob("*/__init__.py")} - NOT_THE_SERVER)


def caddy_or_skip() -> str:
    if not os.path.exists(CADDY):
        pytest.skip(f"deploy test skipped: no Caddy at {CADDY} (apt-get install caddy)")
    return CADDY


def unit_lines(path: Path, section: str = "Service") -> list[tuple[str, str]]:
    """(key, value) of one section of a systemd unit, in order, repeated keys kept."""
    lines, current = [], None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section:
            key, value = line.split("=", 1)
            lines.append((key.strip(), value.strip()))
    return lines


def environment_lines(values: list[str]) -> dict[str, str]:
    """Environment= values as systemd reads them: `"A=x y" B=z` is two assignments."""
    return dict(word.split("=", 1) for value in values for word in shlex.split(value))


def env_file(path: Path) -> dict[str, str]:
    """An EnvironmentFile= as systemd reads it: NAME=the rest of the line, quotes dropped."""
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        name, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[name.strip()] = value
    return env


class Unit:
    """A service of deploy/systemd/: its command line and environment, as systemd runs it."""

    def __init__(self, name: str, instance: str = ""):
        self.name = name
        self.lines = unit_lines(DEPLOY / "systemd" / name)
        self.instance = instance

    def values(self, key: str) -> list[str]:
        return [
            value.replace("%i", self.instance).replace("%H", socket.gethostname())
            for k, value in self.lines
            if k == key
        ]

    def argv(self) -> list[str]:
        (exec_start,) = self.values("ExecStart")
        argv = shlex.split(exec_start)
        assert argv[0] == INSTALLED_PYTHON, argv
        return [sys.executable, *argv[1:]]

    def env(self, env_file_values: dict[str, str]) -> dict[str, str]:
        assert self.values("WorkingDirectory") == [INSTALLED_APP]
        assert self.values("EnvironmentFile") == ["/etc/celc/celc.env"]
        # systemd starts services with a bare environment: only what the unit gives them
        # (and the clock shift of `make test-clocks`, to be in the same time as the test).
        env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
        for name in ("CELC_TEST_CLOCK_OFFSET", "PYTHONPATH"):
            if name in os.environ:
                env[name] = os.environ[name]
        env.update(environment_lines(self.values("Environment")))
        env.update(env_file_values)
        return env


def caddy_env(home: Path, **overrides: str) -> dict[str, str]:
    """Caddy's environment: the drop-in's variables, its files kept under `home`."""
    dropin = unit_lines(DEPLOY / "systemd" / "caddy.service.d" / "celc.conf")
    env = environment_lines([value for key, value in dropin if key == "Environment"])
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        **env,
        **overrides,
    }


def production_env(tmp_path: Path, *, redis_url: str, origin: str) -> dict[str, str]:
    """The env file: deploy/celc.env.example with this machine's values filled in."""
    values = {
        **env_file(DEPLOY / "celc.env.example"),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "localhost",
        "DJANGO_CSRF_TRUSTED_ORIGINS": origin,
        "DATABASE_URL": database_url_under_test(),
        "REDIS_URL": redis_url,
        "CELC_VAR_DIR": str(tmp_path / "var"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "run"),  # the units' RuntimeDirectory
    }
    (tmp_path / "run").mkdir()
    assert values["DJANGO_BEHIND_TLS_PROXY"] == "1"
    assert "DJANGO_DEBUG" not in values  # production is the default
    (tmp_path / "celc.env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return values


class Deployment:
    """Redis, two celc-web@ instances, celc-worker, celc-beat and Caddy, each its own group."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.http_port, self.https_port = free_port(), free_port()
        self.origin = f"https://localhost:{self.https_port}"
        self.web_ports = [free_port(), free_port()]
        self.procs: dict[str, subprocess.Popen] = {}
        redis_port = free_port()
        self.spawn("redis", redis_argv(redis_port, tmp_path), os.environ.copy(), redis_port)
        self.env = production_env(
            tmp_path, redis_url=f"redis://127.0.0.1:{redis_port}/0", origin=self.origin
        )
        self.static_root = Path(self.env["CELC_VAR_DIR"]) / "static"
        manage = subprocess.run(
            [DEPLOY / "celc-manage", "collectstatic", "--noinput"],
            env={
                **Unit("celc-beat.service").env({}),
                "CELC_ENV_FILE": str(tmp_path / "celc.env"),
                "CELC_APP": str(BASE_DIR),
                "CELC_PYTHON": sys.executable,
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert manage.returncode == 0, manage.stderr
        for port in self.web_ports:
            web = Unit("celc-web@.service", instance=str(port))
            self.spawn(f"web-{port}", web.argv(), web.env(self.env), port)
        for name in ("worker", "alerts", "beat"):
            unit = Unit(f"celc-{name}.service")
            self.spawn(name, unit.argv(), unit.env(self.env))
        self.caddy_home = tmp_path / "caddy"
        caddyfile = (DEPLOY / "Caddyfile").read_text()
        generated = caddyfile.replace("\n{\n", "\n{\n" + TEST_GLOBAL_OPTIONS, 1)
        # Bound to loopback, the HTTPS server's address is 127.0.0.1:port: its options too.
        generated = generated.replace("\tservers :", "\tservers 127.0.0.1:")
        assert generated.count("127.0.0.1") == caddyfile.count("127.0.0.1") + 2, generated
        (tmp_path / "Caddyfile").write_text(generated)
        self.spawn(
            "caddy",
            [caddy_or_skip(), "run", "--config", str(tmp_path / "Caddyfile"), "--adapter",
             "caddyfile"],
            caddy_env(
                self.caddy_home,
                CELC_DOMAIN="localhost",
                CELC_HTTP_PORT=str(self.http_port),
                CELC_HTTPS_PORT=str(self.https_port),
                CELC_WEB_UPSTREAMS=" ".join(f"127.0.0.1:{port}" for port in self.web_ports),
                CELC_STATIC_ROOT=str(self.static_root),
            ),
            self.https_port,
        )  # fmt: skip
        root = self.caddy_home / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        until(root.exists, 60, "Caddy's local CA")
        self.tls = ssl.create_default_context(cafile=root)  # the device trusts only this root
        until(self.serves_tls, 60, "Caddy's certificate for localhost")

    def spawn(self, name: str, argv: list, env: dict, port: int | None = None) -> None:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            argv, cwd=BASE_DIR, env=env, stdout=log, stderr=log, start_new_session=True
        )
        self.procs[name] = proc
        if port and not wait_for_port("127.0.0.1", port, 60, alive=lambda: proc.poll() is None):
            raise RuntimeError(f"{name} did not start: {self.log(name)[-2000:]}")

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def serves_tls(self) -> bool:
        try:
            self.https("GET", "/accounts/login/")
        except (OSError, ssl.SSLError):
            return False
        return True

    def https(self, method: str, path: str, headers: dict | None = None):
        """One request through Caddy, checking its certificate: (status, headers, body)."""
        connection = http.client.HTTPSConnection(
            "localhost", self.https_port, context=self.tls, timeout=30
        )
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def stop_one(self, name: str) -> None:
        """As `systemctl stop` does: SIGTERM, then wait for the end."""
        os.killpg(self.procs[name].pid, signal.SIGTERM)
        self.procs[name].wait(timeout=30)

    def stop(self) -> None:
        for proc in reversed(self.procs.values()):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


class Device(threading.Thread):
    """A device in a cut: an `off` tick every second over wss://, keeping the acks."""

    def __init__(self, url: str, token: str, tls: ssl.SSLContext):
        super().__init__(daemon=True)
        self.url, self.token, self.tls = url, token, tls
        self.acked = 0
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self):
        try:
            asyncio.run(self.stream())
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error

    async def stream(self):
        headers = {"Authorization": f"Bearer {self.token}"}
        async with connect(self.url, additional_headers=headers, ssl=self.tls) as ws:
            seq = 0
            while not self.stopping.is_set():
                seq += 1
                ts = datetime.now().astimezone().isoformat(timespec="milliseconds")
                await ws.send(json.dumps({"type": "tick", "seq": seq, "ts": ts, "power": "off"}))
                try:
                    while True:
                        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=1))
                        if message.get("type") == "ack":
                            self.acked = max(self.acked, message["seq"])
                except TimeoutError:
                    pass  # the next second's tick

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)


@pytest.fixture
def deployment(transactional_db, tmp_path):
    caddy_or_skip()
    deployed = Deployment(tmp_path)
    yield deployed
    deployed.stop()


def plain_http(port: int, path: str) -> tuple[int, str | None]:
    connection = http.client.HTTPConnection("localhost", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location")
    finally:
        connection.close()


def shown_balance(page) -> Decimal:
    return Decimal(page.locator("#balance").inner_text().replace(",", "").removeprefix("₹"))


@pytest.mark.browser
def test_a_device_and_its_household_live_over_tls_through_caddy_to_both_web_processes(
    chromium_browser, deployment, alice, register_device
):
    # Plain http://, to the HTTP port or the HTTPS one, is sent to https://. (From the
    # HTTP port Caddy names no port, meaning 443: where production listens.)
    for port, to in [(deployment.http_port, None), (deployment.https_port, deployment.https_port)]:
        status, location = plain_http(port, "/dashboard/?tab=1")
        assert status in {301, 302, 307, 308}, (port, status)
        target = urlsplit(location)
        assert (target.scheme, target.hostname, target.port) == ("https", "localhost", to)
        assert (target.path, target.query) == ("/dashboard/", "tab=1")

    # A device streams a cut over wss://, trusting nothing but Caddy's root certificate.
    _, token = register_device(alice, name="Home meter")
    device = Device(f"wss://localhost:{deployment.https_port}/ws/device/", token, deployment.tls)
    device.start()
    try:
        until(lambda: device.acked >= 3 or device.error, 60, "the device's ticks to be acked")
        assert device.error is None and device.acked >= 3, device.error
        webs = [f"web-{port}" for port in deployment.web_ports]
        with_device = [w for w in webs if re.search(r"device \d+ connected", deployment.log(w))]
        assert len(with_device) == 1, with_device
        (other,) = set(webs) - set(with_device)
        logged_before = {web: len(deployment.log(web)) for web in webs}

        # The household signs in over https:// (Chromium is told to accept the test CA;
        # the device above checked the chain) and its dashboard goes live over wss://.
        context = chromium_browser.new_context(ignore_https_errors=True)
        page = context.new_page()
        sockets = []
        page.on("websocket", lambda ws: sockets.append(ws.url))
        page.goto(f"{deployment.origin}/accounts/login/")
        page.get_by_label("Username").fill("alice")
        page.get_by_label("Password").fill("alice-password-1")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{deployment.origin}/dashboard/")
        expect(page.locator("#live-status")).to_have_attribute("data-state", "live", timeout=30_000)
        expect(page.locator(".balance-card")).to_have_attribute("data-cut", "1", timeout=30_000)
        expect(page.locator('tr[data-device] [data-field="state"]')).to_have_text("Power cut")
        before = shown_balance(page)
        page.wait_for_timeout(3000)
        assert shown_balance(page) > before
        assert f"wss://localhost:{deployment.https_port}/ws/balance/" in sockets
        # The stylesheet came through Caddy: the header has its brand colour.
        background = page.locator("header.topbar").evaluate(
            "el => getComputedStyle(el).backgroundColor"
        )
        assert background == "rgb(29, 53, 87)"
        context.close()
        assert device.error is None
    finally:
        device.stop()

    # Least connections: with the device's socket open on one process, the browser's
    # sign-in page went to the other (each request's log line). Both served.
    since = {web: deployment.log(web)[logged_before[web] :] for web in webs}
    assert "GET /accounts/login/ 200" in since[other]
    assert "GET /accounts/login/" not in since[with_device[0]]

    # Static files come from Caddy, not Python: compressed as collectstatic wrote them,
    # cached for good under their hashed names.
    manifest = json.loads((deployment.static_root / "staticfiles.json").read_text())
    stylesheet = manifest["paths"]["css/site.css"]
    status, headers, body = deployment.https(
        "GET", f"/static/{stylesheet}", {"Accept-Encoding": "gzip"}
    )
    assert status == 200
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert body == (deployment.static_root / f"{stylesheet}.gz").read_bytes()
    assert all(f"/static/{stylesheet}" not in deployment.log(web) for web in webs)

    # One web process stopped, as an upgrade restarts them one at a time: the site answers
    # from the other, every time.
    deployment.stop_one(with_device[0])
    chosen = {"X-Request-ID": "chosen-by-the-client"}
    answers = [deployment.https("GET", "/accounts/login/", chosen) for _ in range(6)]
    assert [status for status, _, _ in answers] == [200] * 6
    # Django knows the request came over https (Caddy's X-Forwarded-Proto): HSTS. Each
    # request's id in the logs is Caddy's, not one a client made up.
    headers = answers[0][1]
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", headers["X-Request-ID"])


def test_the_shipped_caddyfile_is_valid_with_the_shipped_environment(tmp_path):
    caddy = caddy_or_skip()

    result = subprocess.run(
        [caddy, "validate", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
        env=caddy_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "name",
    ["celc-web@.service", "celc-worker.service", "celc-alerts.service", "celc-beat.service"],
)
def test_the_units_are_valid_systemd_units(name, tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("no systemd-analyze on this machine")
    text = (DEPLOY / "systemd" / name).read_text().replace(INSTALLED_PYTHON, sys.executable)
    unit = tmp_path / name.replace("@.", "@8001.")
    unit.write_text(text)

    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_the_web_unit_runs_daphne_as_the_development_stack_does_behind_the_proxy():
    """One command line for a web process: what `make run` and the benchmarks start
    (devtools.stack.daphne_argv) is what production runs, flag for flag."""
    argv = Unit("celc-web@.service", instance="8001").argv()

    assert argv == daphne_argv("127.0.0.1", 8001, proxy_headers=True)


ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|os\.environ\.setdefault|\benv\w*)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
    r"""|os\.environ\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\]"""
)


def test_every_variable_the_server_reads_is_in_the_example_env_file():
    read = set()
    for app in PRODUCT_APPS:
        for source in (BASE_DIR / app).rglob("*.py"):
            if "tests" in source.parts or "migrations" in source.parts:
                continue
            for match in ENV_READ.finditer(source.read_text()):
                read.add(match.group(1) or match.group(2))
    read.discard("DJANGO_SETTINGS_MODULE")  # set by the entry points themselves
    example = (DEPLOY / "celc.env.example").read_text()

    documented = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", example, re.MULTILINE))

    assert {"celc", "common", "accounts", "alerts"} <= set(PRODUCT_APPS), PRODUCT_APPS
    assert read, "found no variable read: is the pattern out of date?"
    assert sorted(read - documented) == []
