"""Celery tasks: run a job, deliver its completion callback.

Both may run more than once for the same job (acks_late redelivers the message
of a worker that died; retries re-run), so both are idempotent: a finished job
is never run again, and each job kind makes its own side effects safe to repeat.
"""

import logging
import time
import traceback

from celery import Task, shared_task
from django.conf import settings

from dashboard import services, webhooks
from dashboard.events import job_data
from dashboard.kinds import JobCancelled, TransientJobError, get_kind
from dashboard.models import Job, JobState, WebhookDelivery
from dashboard.progress import Progress

logger = logging.getLogger(__name__)


class WebhookFailed(Exception):
    """The callback answered with an error or could not be reached; retried."""


@shared_task(
    bind=True,
    autoretry_for=(TransientJobError,),
    retry_backoff=True,
    retry_backoff_max=settings.JOB_RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=settings.JOB_MAX_RETRIES,
)
def run_job(self: Task, job_id: str) -> None:
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.is_final:
        return  # already done (a redelivered or duplicate message)
    if job.cancel_requested:
        services.job_finish(job, JobState.CANCELLED)
        return
    kind = get_kind(job.kind)
    if kind is None:
        services.job_finish(job, JobState.FAILURE, error=f"unknown kind {job.kind}")
        return
    services.job_begin_attempt(job)
    progress = Progress(job)
    try:
        result = kind.func(progress, **job.params)
    except JobCancelled:
        progress.flush()
        services.job_finish(job, JobState.CANCELLED)
    except TransientJobError as exc:
        progress.flush()
        if self.request.retries < self.max_retries:
            services.job_retrying(job, str(exc) or type(exc).__name__)
            raise  # autoretry_for schedules the retry with backoff and jitter
        services.job_finish(job, JobState.FAILURE, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, not raised
        logger.exception("job %s failed", job_id)
        progress.flush()
        error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
        services.job_finish(job, JobState.FAILURE, error=error)
    else:
        progress.flush()
        if progress.cancelled:
            services.job_finish(job, JobState.CANCELLED)
        else:
            services.job_finish(job, JobState.SUCCESS, result=result)


@shared_task(
    bind=True,
    autoretry_for=(WebhookFailed,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=settings.REALTIME_WEBHOOK_MAX_ATTEMPTS - 1,
)
def deliver_webhook(self: Task, job_id: str) -> None:
    """POST the final job state to its callback URL; every attempt is recorded."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not job.callback_url:
        return
    if job.deliveries.filter(status_code__gte=200, status_code__lt=300).exists():
        return  # delivered already (this is a redelivery)
    attempt = job.deliveries.count() + 1
    try:
        status = webhooks.post(job.callback_url, {"job": job_data(job)})
    except webhooks.WebhookRefused as exc:
        WebhookDelivery.objects.create(job=job, attempt=attempt, error=str(exc)[:300])
        return  # never retried: the address is not allowed
    except OSError as exc:
        WebhookDelivery.objects.create(job=job, attempt=attempt, error=str(exc)[:300])
        raise WebhookFailed(str(exc)) from exc
    WebhookDelivery.objects.create(job=job, attempt=attempt, status_code=status)
    if not 200 <= status < 300:
        raise WebhookFailed(f"callback answered {status}")


@shared_task(ignore_result=True)
def sample_charts() -> bool:
    """Sample the built-in charts; skipped while another run still holds the lock.

    Beat sends this every CHARTS_SAMPLE_INTERVAL with `expires`, so runs that
    could not start in time are dropped, and the lock stops two from overlapping:
    a slow Redis or database never piles up work.
    """
    from dashboard.charts import sample_builtin_charts
    from realtime import push, redis_client

    lock = push.stats_key("sampler-lock")
    token = str(time.monotonic())
    ttl_ms = int(max(1.0, settings.CHARTS_SAMPLE_INTERVAL * 5) * 1000)
    client = redis_client.sync_client()
    if not client.set(lock, token, nx=True, px=ttl_ms):
        return False
    try:
        sample_builtin_charts()
    finally:
        if client.get(lock) == token.encode():
            client.delete(lock)
    return True
