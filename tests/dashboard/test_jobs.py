"""Jobs run by a real Celery worker, watched over a real socket."""

import time

import pytest

from dashboard import services
from dashboard.models import Job, JobState

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for_state(job: Job, *states: str, timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job stayed {job.state}, wanted {states}")


def updates_until_final(client, timeout: float = 30) -> list[dict]:  # type: ignore[no-untyped-def]
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        (event,) = client.events(1, timeout=max(0.1, deadline - time.monotonic()))
        seen.append(event["data"])
        if event["data"]["state"] in {"success", "failure", "cancelled"}:
            return seen


def test_progress_events_arrive_in_order_and_end_in_the_final_state(
    server, worker, make_user, session_cookie
):
    owner = make_user("owner")
    with server.client(cookie=session_cookie(owner)) as client:
        client.subscribe(f"jobs.{owner.pk}")
        job, created = services.start_job(
            "test_steps", {"steps": 30, "pause": 0.02}, user=owner
        )
        assert created
        updates = updates_until_final(client)
    assert all(u["id"] == str(job.id) for u in updates)
    assert updates[-1]["state"] == "success"
    assert updates[-1]["result"] == {"counted": 30}
    assert updates[-1]["percent"] == 100.0
    progress = [u["current"] for u in updates if u["state"] == "progress"]
    assert progress == sorted(progress)
    assert len(updates) < 30  # coalesced, not one push per step
    assert wait_for_state(job, "success").current == 30


def test_a_failing_job_ends_in_failure_with_the_error(server, worker, make_user):
    owner = make_user("owner")
    job, _ = services.start_job("test_steps", {"steps": 1, "fail": True}, user=owner)
    job = wait_for_state(job, "failure")
    assert "this job always fails" in job.error
    assert job.attempt == 1


def test_a_transient_error_is_retried_and_the_attempts_are_shown(
    server, worker, make_user, session_cookie
):
    owner = make_user("owner")
    with server.client(cookie=session_cookie(owner)) as client:
        client.subscribe(f"jobs.{owner.pk}")
        job, _ = services.start_job(
            "test_steps", {"steps": 2, "flaky_attempts": 2}, user=owner
        )
        updates = updates_until_final(client, timeout=60)
    retrying = [u for u in updates if u["state"] == "retrying"]
    assert [u["message"] for u in retrying] == [
        "retrying, attempt 2 of 5",
        "retrying, attempt 3 of 5",
    ]
    assert updates[-1]["state"] == "success"
    assert updates[-1]["attempt"] == 3


def test_idempotency_key_returns_the_same_job(server, worker, make_user):
    owner = make_user("owner")
    first, created = services.start_job(
        "test_steps", {"steps": 1}, user=owner, idempotency_key="k-1"
    )
    again, created_again = services.start_job(
        "test_steps", {"steps": 1}, user=owner, idempotency_key="k-1"
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Job.objects.count() == 1
    assert wait_for_state(first, "success").attempt == 1  # ran once


def test_cancel_a_queued_job_means_it_never_starts(make_user, server):
    owner = make_user("owner")
    # No worker is needed: the job is cancelled while still pending.
    job = Job.objects.create(kind="test_steps", params={"steps": 1}, owner=owner)
    services.cancel_job(job)
    job.refresh_from_db()
    assert job.state == JobState.CANCELLED
    from dashboard.tasks import run_job

    run_job.apply(args=(str(job.id),))  # a late delivery does nothing
    job.refresh_from_db()
    assert (job.state, job.attempt) == (JobState.CANCELLED, 0)


def test_cancel_a_running_job_stops_it_at_its_next_check(server, worker, make_user):
    owner = make_user("owner")
    job, _ = services.start_job("test_steps", {"steps": 400, "pause": 0.05}, user=owner)
    wait_for_state(job, "progress")
    services.cancel_job(job)
    job = wait_for_state(job, "cancelled", timeout=15)
    assert 0 < job.current < 400


@pytest.mark.parametrize(
    ("kind", "params", "code"),
    [
        ("nope", {}, "unknown_kind"),
        ("test_steps", {}, "bad_params"),
        ("test_steps", {"steps": "3"}, "bad_params"),
        ("test_steps", {"steps": True}, "bad_params"),
        ("test_steps", {"steps": 1, "extra": 1}, "bad_params"),
        ("test_steps", [1], "bad_params"),
    ],
)
def test_bad_job_requests_are_refused_and_nothing_is_stored(kind, params, code):
    with pytest.raises(services.JobRefused) as refused:
        services.start_job(kind, params)
    assert refused.value.code == code
    assert not Job.objects.exists()


def test_a_worker_killed_mid_job_is_redelivered_and_completes(
    server, worker, make_user, session_cookie
):
    import os
    import signal

    owner = make_user("owner")
    with server.client(cookie=session_cookie(owner)) as client:
        client.subscribe(f"jobs.{owner.pk}")
        job, _ = services.start_job(
            "test_steps", {"steps": 40, "pause": 0.1}, user=owner
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.current >= 5:
                break
            time.sleep(0.05)
        (child,) = worker.child_pids()
        os.kill(child, signal.SIGKILL)
        updates = updates_until_final(client, timeout=60)
    assert updates[-1]["state"] == "success"
    assert updates[-1]["attempt"] == 2
    restarted = [u for u in updates if u["attempt"] == 2 and u["state"] == "started"]
    assert restarted and restarted[0]["message"] == "attempt 2 of 5"
    assert wait_for_state(job, "success").result == {"counted": 40}
