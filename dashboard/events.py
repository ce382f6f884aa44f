"""The job event shape (defined once) and where job events are published."""

from typing import Any

from dashboard.models import Job
from realtime import push


def job_data(job: Job) -> dict[str, Any]:
    """A job as the page, the polling API and the webhook all see it."""
    percent = None
    if job.total:
        percent = round(min(100.0, 100.0 * job.current / job.total), 1)
    return {
        "id": str(job.id),
        "kind": job.kind,
        "params": job.params,
        "state": job.state,
        "current": job.current,
        "total": job.total,
        "percent": percent,
        "stage": job.stage,
        "message": job.message,
        "attempt": job.attempt,
        "max_attempts": job.max_attempts,
        "result": job.result,
        "error": job.error,
        "cancel_requested": job.cancel_requested,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "started_at": job.started_at.isoformat() if job.started_at else None,
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
    }


def job_topics(job: Job) -> list[str]:
    topics = [job.topic, "jobs.all"]
    if job.owner_id is not None:
        topics.append(f"jobs.{job.owner_id}")
    return topics


def job_publish(job: Job) -> None:
    """Push the job's current state to its own topic and its owner's job list."""
    data = job_data(job)
    for topic in job_topics(job):
        push.publish(topic, "job.update", data)
