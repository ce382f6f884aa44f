"""Starting, cancelling and finishing jobs: every job state change goes here."""

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dashboard import webhooks
from dashboard.events import job_publish
from dashboard.kinds import InvalidParams, get_kind
from dashboard.models import Job, JobState
from dashboard.progress import save_job
from realtime import notifications


class JobRefused(Exception):
    """A job request that cannot be accepted; `code` is part of the HTTP error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def start_job(
    kind: str,
    params: Any,
    *,
    user: Any = None,
    idempotency_key: str | None = None,
    callback_url: str = "",
) -> tuple[Job, bool]:
    """Create a job and queue it after commit; returns (job, created).

    With an idempotency key, the same caller's same key returns the job it
    started before instead of starting another.
    """
    job_kind = get_kind(kind)
    if job_kind is None:
        raise JobRefused("unknown_kind", f"no job kind {kind!r}")
    try:
        cleaned = job_kind.clean_params(params)
    except InvalidParams as exc:
        raise JobRefused("bad_params", str(exc)) from exc
    if callback_url:
        webhooks.check_callback_url(callback_url)
    scope = f"u{user.pk}" if user is not None else "api"
    if idempotency_key is not None:
        existing = Job.objects.filter(
            idempotency_scope=scope, idempotency_key=idempotency_key
        ).first()
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            job = Job.objects.create(
                kind=kind,
                params=cleaned,
                owner=user,
                max_attempts=settings.JOB_MAX_RETRIES + 1,
                callback_url=callback_url,
                idempotency_scope=scope,
                idempotency_key=idempotency_key,
            )
            transaction.on_commit(lambda: _enqueue(job))
    except IntegrityError:
        # Another request with the same key won the race: return its job.
        return Job.objects.get(
            idempotency_scope=scope, idempotency_key=idempotency_key
        ), False
    return job, True


def _enqueue(job: Job) -> None:
    from dashboard.tasks import run_job

    job_publish(job)
    run_job.apply_async((str(job.id),), task_id=str(job.id))


def cancel_job(job: Job) -> Job:
    """A queued job never starts; a running one stops at its next check."""
    with transaction.atomic():
        cancelled = Job.objects.filter(pk=job.pk, state=JobState.PENDING).update(
            state=JobState.CANCELLED,
            cancel_requested=True,
            finished_at=timezone.now(),
            message="cancelled before it started",
        )
        if cancelled:
            job.refresh_from_db()
            transaction.on_commit(lambda: job_publish(job))
            _after_final(job)
    if cancelled:
        return job
    Job.objects.filter(pk=job.pk).update(cancel_requested=True)
    job.refresh_from_db()
    if not job.is_final:
        job.message = "cancelling…"
        job_publish(job)
    return job


def job_begin_attempt(job: Job) -> Job:
    """Count a new attempt (a retry or a redelivery) and mark the job started."""
    job.attempt += 1
    job.state = JobState.STARTED
    job.started_at = job.started_at or timezone.now()
    job.current = 0
    job.message = (
        "" if job.attempt == 1 else f"attempt {job.attempt} of {job.max_attempts}"
    )
    save_job(job, ["attempt", "state", "started_at", "current", "message"])
    job_publish(job)
    return job


def job_retrying(job: Job, error: str) -> None:
    job.state = JobState.RETRYING
    job.error = error[:2000]
    job.message = f"retrying, attempt {job.attempt + 1} of {job.max_attempts}"
    save_job(job, ["state", "error", "message"])
    job_publish(job)


def job_finish(
    job: Job, state: JobState, *, result: Any = None, error: str = ""
) -> None:
    """Record a final state, push it, and schedule the completion callback.

    The state and the owner's notification commit together, and everything sent
    outside the database (events, the webhook task) goes after that commit.
    """
    job.state = state
    job.result = result
    job.error = error[:2000]
    job.finished_at = timezone.now()
    if state == JobState.SUCCESS and job.total:
        job.current = job.total
    if state == JobState.CANCELLED:
        job.message = "cancelled"
    with transaction.atomic():
        save_job(
            job,
            ["state", "result", "error", "finished_at", "current", "total", "message"],
        )
        transaction.on_commit(lambda: job_publish(job))
        _after_final(job)


FINAL_TITLES = {
    JobState.SUCCESS: "finished",
    JobState.FAILURE: "failed",
    JobState.CANCELLED: "was cancelled",
}


def _after_final(job: Job) -> None:
    if job.owner_id is not None:
        notifications.notify(
            job.owner_id,
            f"Job {job.kind} {FINAL_TITLES.get(JobState(job.state), job.state)}",
            job.error.splitlines()[0] if job.error else "",
            level="error" if job.state == JobState.FAILURE else "success",
            url="/dashboard/",
        )
    if job.callback_url:
        from dashboard.tasks import deliver_webhook

        transaction.on_commit(lambda: deliver_webhook.delay(str(job.id)))
