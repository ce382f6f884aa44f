"""The progress API task code uses: coalesced pushes, throttled row writes."""

import time
from typing import Any

from django.utils import timezone

from dashboard.events import job_publish
from dashboard.kinds import JobCancelled
from dashboard.models import Job, JobState

PUSH_INTERVAL = 0.1  # at most ~10 pushes per second per job
SAVE_INTERVAL = 1.0  # the row is written about once a second, and on state changes
CANCEL_CHECK_INTERVAL = 0.5

PROGRESS_FIELDS = ["state", "current", "total", "stage", "message", "updated_at"]


class Progress:
    """Handed to a job kind's function: report progress, check for cancel."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._pushed_at = 0.0
        self._saved_at = 0.0
        self._cancel_checked_at = 0.0
        self._cancelled = False
        self._unsent = False

    def update(
        self, current: int, total: int | None = None, message: str | None = None
    ) -> None:
        """Report `current` of `total` items; current never goes backwards."""
        job = self.job
        if current < job.current:
            return
        job.current = current
        if total is not None:
            job.total = total
        if message is not None:
            job.message = message[:300]
        state_changed = job.state != JobState.PROGRESS
        job.state = JobState.PROGRESS
        self._unsent = True
        self._flush(force=state_changed)

    def stage(self, name: str, *, total: int | None = None) -> None:
        """Start a named stage (e.g. "writing CSV"); resets current to 0."""
        self.job.stage = name[:100]
        self.job.current = 0
        self.job.total = total
        self._unsent = True
        self._flush(force=True)

    @property
    def cancelled(self) -> bool:
        """True once the owner asked to cancel (checked in the database)."""
        now = time.monotonic()
        if (
            not self._cancelled
            and now - self._cancel_checked_at >= CANCEL_CHECK_INTERVAL
        ):
            self._cancel_checked_at = now
            self._cancelled = Job.objects.filter(
                pk=self.job.pk, cancel_requested=True
            ).exists()
        return self._cancelled

    def check_cancelled(self) -> None:
        """Raise JobCancelled if the owner asked to cancel."""
        if self.cancelled:
            raise JobCancelled

    def flush(self) -> None:
        """Send and store whatever is pending (called before a final state)."""
        if self._unsent:
            self._flush(force=True)

    def _flush(self, *, force: bool) -> None:
        now = time.monotonic()
        if force or now - self._saved_at >= SAVE_INTERVAL:
            self._saved_at = now
            save_job(self.job, PROGRESS_FIELDS)
        if force or now - self._pushed_at >= PUSH_INTERVAL:
            self._pushed_at = now
            self._unsent = False
            job_publish(self.job)


def save_job(job: Job, fields: list[str]) -> None:
    """Write the given fields only, so a concurrent cancel request is never lost."""
    job.updated_at = timezone.now()
    values: dict[str, Any] = {name: getattr(job, name) for name in fields}
    Job.objects.filter(pk=job.pk).update(**values)
