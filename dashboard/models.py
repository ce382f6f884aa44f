"""Jobs: the database record of every background job, the source of truth."""

import uuid

from django.conf import settings
from django.db import models


class JobState(models.TextChoices):
    PENDING = "pending"
    STARTED = "started"
    PROGRESS = "progress"
    RETRYING = "retrying"
    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"


FINAL_STATES = {JobState.SUCCESS, JobState.FAILURE, JobState.CANCELLED}


class Job(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=64)
    params = models.JSONField(default=dict)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    state = models.CharField(
        max_length=16, choices=JobState.choices, default=JobState.PENDING
    )
    current = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    stage = models.CharField(max_length=100, blank=True)
    message = models.CharField(max_length=300, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=1)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    callback_url = models.URLField(max_length=500, blank=True)
    # Who the key belongs to ("u<id>" or "api"), so keys never collide across callers.
    idempotency_scope = models.CharField(max_length=40, blank=True)
    # NULL, not "", when absent: NULLs never collide in the unique constraint.
    idempotency_key = models.CharField(  # noqa: DJ001
        max_length=200, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_scope", "idempotency_key"],
                name="one_job_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.state})"

    @property
    def topic(self) -> str:
        return f"task.{self.id}"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


class WebhookDelivery(models.Model):
    """One attempt to POST a finished job's state to its callback URL."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.job_id} #{self.attempt}: {self.status_code or self.error}"


class NewsletterDelivery(models.Model):
    """One newsletter email to one user: the unique row makes resends impossible."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "user"], name="one_email_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.job_id} → {self.user_id}"
