"""The job HTTP API (polling fallback, cancel, result) and completion callbacks."""

import hashlib
import hmac
import http.server
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from dashboard import services, webhooks
from dashboard.models import Job, WebhookDelivery
from tests.conftest import API_TOKEN, WEBHOOK_SECRET, free_port
from tests.dashboard.test_jobs import wait_for_state

pytestmark = pytest.mark.django_db(transaction=True)


def call(
    method: str, url: str, body: object = None, headers: dict | None = None
) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


TOKEN = {"Authorization": f"Bearer {API_TOKEN}"}


def test_kinds_are_listed_with_their_parameters(server):
    status, body = call("GET", server.http + "/api/jobs/kinds")
    kinds = {k["kind"]: k for k in body["kinds"]}
    assert status == 200
    assert kinds["chat_export"]["params"]["room"]["type"] == "str"
    assert set(kinds["newsletter"]["params"]) == {"subject", "body"}


def test_token_caller_starts_polls_and_gets_the_result(server, worker):
    status, job = call(
        "POST",
        server.http + "/api/jobs",
        {"kind": "test_steps", "params": {"steps": 3}},
        TOKEN,
    )
    assert status == 201
    assert job["state"] == "pending"
    deadline = time.monotonic() + 30
    while job["state"] != "success" and time.monotonic() < deadline:
        time.sleep(0.2)
        status, job = call("GET", f"{server.http}/api/jobs/{job['id']}", None, TOKEN)
        assert status == 200
    assert job["state"] == "success"
    assert job["result"] == {"counted": 3}


def test_idempotency_key_header_returns_the_same_job(server, worker):
    headers = {**TOKEN, "Idempotency-Key": "order-42"}
    body = {"kind": "test_steps", "params": {"steps": 1}}
    first = call("POST", server.http + "/api/jobs", body, headers)
    second = call("POST", server.http + "/api/jobs", body, headers)
    assert (first[0], second[0]) == (201, 200)
    assert first[1]["id"] == second[1]["id"]
    assert wait_for_state(Job.objects.get(), "success").attempt == 1  # ran once


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "nope"}, 400, "unknown_kind"),
        ({"kind": "test_steps", "params": {"steps": "x"}}, 400, "bad_params"),
        ([1], 400, "bad_json"),
    ],
)
def test_bad_job_requests_get_4xx_json(server, body, status, code):
    got_status, reply = call("POST", server.http + "/api/jobs", body, TOKEN)
    assert (got_status, reply["error"]["code"]) == (status, code)


def test_job_api_needs_a_session_or_the_token(server, make_user):
    status, reply = call("POST", server.http + "/api/jobs", {"kind": "test_steps"})
    assert status == 401
    status, reply = call(
        "GET", server.http + "/api/jobs", None, {"Authorization": "Bearer wrong"}
    )
    assert status == 401


def test_session_post_without_csrf_token_is_refused(server, make_user, session_cookie):
    cookie = session_cookie(make_user("owner"))
    status, reply = call(
        "POST",
        server.http + "/api/jobs",
        {"kind": "test_steps", "params": {"steps": 1}},
        {"Cookie": cookie},
    )
    assert (status, reply["error"]["code"]) == (403, "csrf")
    assert not Job.objects.exists()


def test_other_users_cannot_see_or_cancel_a_job(server, make_user, session_cookie):
    owner, other = make_user("owner"), make_user("other")
    job = Job.objects.create(kind="test_steps", params={"steps": 1}, owner=owner)
    cookie = {"Cookie": session_cookie(other)}
    assert call("GET", f"{server.http}/api/jobs/{job.id}", None, cookie)[0] == 404
    with server.client(cookie=session_cookie(other)) as client:
        reply = client.request({"type": "subscribe", "topic": job.topic})
        assert reply["code"] == "forbidden"
    with server.client(cookie=session_cookie(owner)) as client:
        assert client.subscribe(job.topic)["topic"] == job.topic


def test_chat_export_writes_a_downloadable_csv(
    server, worker, make_user, session_cookie
):
    from chat.models import Room
    from chat.services import message_create
    from realtime.topics import Principal

    owner = make_user("owner")
    room, _ = Room.objects.get_or_create(slug="lobby")
    author = Principal(user_id=None, name="guest-x", is_guest=True)
    for text in ["one", 'two, with "quotes"', "three\nlines"]:
        message_create(room=room, author=author, text=text)
    job, _ = services.start_job("chat_export", {"room": "lobby"}, user=owner)
    job = wait_for_state(job, "success")
    request = urllib.request.Request(f"{server.http}/api/jobs/{job.id}/result")
    request.add_header("Cookie", session_cookie(owner))
    with urllib.request.urlopen(request, timeout=10) as response:
        csv_text = response.read().decode()
    assert job.result["rows"] == 3
    assert csv_text.splitlines()[0] == "id,time,user,text"
    assert 'two, with ""quotes""' in csv_text


class CallbackRecorder(http.server.BaseHTTPRequestHandler):
    failures_left = 0
    received: list[tuple[dict, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        CallbackRecorder.received.append((dict(self.headers), body))
        status = 500 if CallbackRecorder.failures_left > 0 else 200
        CallbackRecorder.failures_left -= 1
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def callback_server() -> Iterator[str]:
    CallbackRecorder.received = []
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", free_port()), CallbackRecorder
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    httpd.shutdown()


def test_webhook_is_signed_retried_and_every_attempt_recorded(
    server, worker, callback_server, settings
):
    settings.REALTIME_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.REALTIME_WEBHOOK_ALLOW_PRIVATE = True
    CallbackRecorder.failures_left = 2
    job, _ = services.start_job(
        "test_steps", {"steps": 1}, callback_url=callback_server
    )
    deadline = time.monotonic() + 40
    while len(CallbackRecorder.received) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(CallbackRecorder.received) == 3
    headers, body = CallbackRecorder.received[-1]
    expected = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers[webhooks.SIGNATURE_HEADER] == f"sha256={expected}"
    assert json.loads(body)["job"]["state"] == "success"
    deliveries = list(WebhookDelivery.objects.filter(job=job).order_by("attempt"))
    assert [(d.attempt, d.status_code) for d in deliveries] == [
        (1, 500),
        (2, 500),
        (3, 200),
    ]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "ftp://example.com/hook",
        "file:///etc/passwd",
    ],
)
def test_webhook_to_a_private_address_is_refused(url, settings):
    settings.REALTIME_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.REALTIME_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(services.JobRefused) as refused:
        services.start_job("test_steps", {"steps": 1}, callback_url=url)
    assert refused.value.code == "bad_callback_url"
    assert not Job.objects.exists()


def test_webhooks_are_refused_without_a_secret(settings):
    settings.REALTIME_WEBHOOK_SECRET = ""
    with pytest.raises(services.JobRefused) as refused:
        services.start_job(
            "test_steps", {"steps": 1}, callback_url="https://example.com/hook"
        )
    assert refused.value.code == "webhooks_disabled"
