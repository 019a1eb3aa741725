"""Size limits a real daphne enforces before the application sees anything (celc.daphne_limits)."""

import asyncio
import http.client
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

pytestmark = pytest.mark.django_db(transaction=True)

KIB = 1024
MIB = 1024 * KIB


class PeakRSS(threading.Thread):
    """The highest resident set size of a process while the `with` block runs (psutil)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.start_rss = self.peak = self.process.memory_info().rss
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth(self) -> int:
        return self.peak - self.start_rss


async def answers_to(url: str, token: str, message) -> tuple[list[dict], int | None]:
    """Send `message` (a str, or a list of str: one message in fragments) on a device socket;
    return the frames the server sent back and its close code."""
    received = []
    async with connect(
        url, additional_headers={"Authorization": f"Bearer {token}"}, proxy=None, max_size=None
    ) as websocket:
        # The server answers while the message is still on its way.
        sending = asyncio.create_task(websocket.send(message))
        try:
            async for frame in websocket:
                received.append(json.loads(frame))
        except ConnectionClosedError:
            pass
        await asyncio.gather(sending, return_exceptions=True)
        rcvd = websocket.protocol.close_rcvd
        code = rcvd.code if rcvd else None
    return received, code


@pytest.mark.parametrize(
    "message",
    [
        "x" * (64 * KIB + 1),
        "x" * (2 * MIB),  # over daphne's own 1 MiB: it used to drop the connection (1006)
        "x" * (48 * MIB),
        ["x" * (40 * KIB), "x" * (40 * KIB)],  # one message in two frames
    ],
    ids=["64KiB+1", "2MiB", "48MiB", "fragmented-80KiB"],
)
async def test_a_device_message_over_64_kib_gets_too_large_and_1009(
    daphne, alice, register_device, message
):
    _, token = await database_sync_to_async(register_device)(alice)

    with PeakRSS(daphne.process.pid) as memory:
        received, code = await answers_to(daphne.url, token, message)

    assert [frame["code"] for frame in received] == ["too_large"]
    assert code == 1009
    assert memory.growth < 32 * MIB  # dropped as it came, never kept whole


def post(
    port: int, path: str, headers: dict, size: int, chunked: bool = False
) -> tuple[int, bytes]:
    """POST `size` bytes as a client that does not wait to be answered: it sends everything
    (or until the server stops reading), then reads the answer. Returns (status, body)."""
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(size)}
    head = "".join(
        f"{name}: {value}\r\n"
        for name, value in {
            "Host": f"127.0.0.1:{port}",
            "Connection": "close",
            **headers,
            **framing,
        }.items()
    )
    piece = b"x" * MIB
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode())
        try:
            for start in range(0, size, MIB):
                data = piece[: min(MIB, size - start)]
                sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed: its answer is read below
        answer = b""
        while chunk := sock.recv(65536):  # "Connection: close": the answer ends with the stream
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer.split(b"\r\n\r\n", 1)[1]


DEVICE_TICKS = "/api/device/ticks"
ANONYMOUS = 200 * MIB


def test_anonymous_bodies_are_refused_before_they_are_read(daphne):
    a_device_token = {"Authorization": "Bearer ced_not-a-registered-token"}
    with PeakRSS(daphne.process.pid) as memory:
        statuses = [
            post(daphne.port, DEVICE_TICKS, {}, ANONYMOUS)[0],
            post(daphne.port, DEVICE_TICKS, {"Authorization": "Bearer nonsense"}, ANONYMOUS)[0],
            post(daphne.port, DEVICE_TICKS, {"Authorization": "Basic YTpi"}, ANONYMOUS, True)[0],
            post(daphne.port, DEVICE_TICKS, a_device_token, ANONYMOUS)[0],
            post(daphne.port, DEVICE_TICKS, a_device_token, ANONYMOUS, chunked=True)[0],
            post(daphne.port, "/accounts/login/", {}, ANONYMOUS)[0],
            post(daphne.port, "/accounts/login/", {}, ANONYMOUS, chunked=True)[0],
        ]

    assert memory.growth < 50 * MIB, f"daphne grew by {memory.growth / MIB:.0f} MiB"
    assert statuses == [401, 401, 401, 413, 413, 413, 413]


def test_the_refusals_say_what_the_device_protocol_says(daphne):
    status, body = post(daphne.port, DEVICE_TICKS, {}, 10 * MIB)
    assert status == 401 and json.loads(body)["error"]["code"] == "unauthorized"

    status, body = post(daphne.port, DEVICE_TICKS, {"Authorization": "Bearer ced_x"}, 64 * KIB + 1)
    assert status == 413 and json.loads(body)["error"]["code"] == "too_large"


def test_bodies_within_the_limits_reach_the_application(daphne, alice, register_device):
    _, token = register_device(alice)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    # 64 KiB of x is not JSON: the view answers (400 bad_json), not the limit (413).
    status, body = post(daphne.port, DEVICE_TICKS, headers, 64 * KIB)
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_json"
    status, body = post(daphne.port, DEVICE_TICKS, headers, 64 * KIB, chunked=True)
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_json"
    # A sign-in form of a sane size reaches Django (403: no CSRF token), chunked or not.
    assert post(daphne.port, "/accounts/login/", {}, 60 * KIB)[0] == 403
    assert post(daphne.port, "/accounts/login/", {}, 60 * KIB, chunked=True)[0] == 403
    # In the admin, with a session: up to DATA_UPLOAD_MAX_MEMORY_SIZE (bulk actions).
    staff = {"Cookie": "csrftoken=x; sessionid=abc"}
    assert post(daphne.port, "/admin/payouts/payout/", staff, 2 * MIB)[0] == 403
    assert post(daphne.port, "/admin/payouts/payout/", staff, 2 * MIB, chunked=True)[0] == 403


def test_a_client_waiting_for_100_continue_is_answered_at_once(daphne):
    with socket.create_connection(("127.0.0.1", daphne.port), timeout=30) as sock:
        sock.sendall(
            f"POST {DEVICE_TICKS} HTTP/1.1\r\nHost: 127.0.0.1:{daphne.port}\r\n"
            f"Content-Length: {ANONYMOUS}\r\nExpect: 100-continue\r\n\r\n".encode()
        )

        first_line = sock.makefile("rb").readline()

    assert first_line.startswith(b"HTTP/1.1 401 ")


def request(port: int, path: str, headers: dict, body: bytes) -> tuple[int, bytes]:
    """One POST with a body of our own; (status, body) of the answer."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"],
)
def test_a_form_body_to_the_device_api_gets_the_protocols_json_error(
    daphne, alice, register_device, content_type
):
    _, token = register_device(alice)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}

    status, body = request(daphne.port, DEVICE_TICKS, headers, b'{"type": "batch"}')

    assert status == 400
    error = json.loads(body)["error"]
    assert error["code"] == "bad_message" and "Content-Type" in error["detail"]


JUST_UNDER_DJANGOS_LIMIT = 2_600_000  # DATA_UPLOAD_MAX_MEMORY_SIZE is 2.5 MiB


@pytest.mark.parametrize(
    "path, headers",
    [
        ("/accounts/login/", {}),
        ("/accounts/signup/", {"Cookie": "csrftoken=x"}),
        ("/admin/login/", {}),  # the admin's sign-in is anonymous too
        ("/accounts/password_change/", {"Cookie": "sessionid=abc"}),  # outside the admin
        ("/", {}),
    ],
)
def test_bodies_are_64_kib_at_most_but_in_the_admin_with_a_session(daphne, path, headers):
    assert post(daphne.port, path, headers, 64 * KIB + 1)[0] == 413
    assert post(daphne.port, path, headers, 64 * KIB + 1, chunked=True)[0] == 413


def test_thirty_anonymous_bodies_at_once_just_under_djangos_limit_leave_memory_alone(daphne):
    def sign_in_form() -> int:
        return post(daphne.port, "/accounts/login/", {}, JUST_UNDER_DJANGOS_LIMIT)[0]

    with PeakRSS(daphne.process.pid) as memory, ThreadPoolExecutor(30) as pool:
        statuses = list(pool.map(lambda _: sign_in_form(), range(30)))

    assert memory.growth < 16 * MIB, f"daphne grew by {memory.growth / MIB:.0f} MiB"
    assert statuses == [413] * 30
