"""The newsletter job kind: one email per user, never twice on a rerun."""

import pytest
from django.core import mail
from django.utils import timezone

from dashboard.models import Job, JobState, NewsletterDelivery
from dashboard.tasks import run_job

pytestmark = pytest.mark.django_db(transaction=True)


def test_newsletter_emails_every_user_once_even_when_redelivered(
    django_user_model, settings, server
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    users = [
        django_user_model.objects.create_user(f"u{i}", email=f"u{i}@example.com")
        for i in range(5)
    ]
    django_user_model.objects.create_user("no-email")
    job = Job.objects.create(
        kind="newsletter", params={"subject": "Hi", "body": "News"}, max_attempts=5
    )
    # A first delivery of this job died after mailing two users.
    for user in users[:2]:
        NewsletterDelivery.objects.create(job=job, user=user, sent_at=timezone.now())
    run_job.apply(args=(str(job.id),))
    job.refresh_from_db()
    assert job.state == JobState.SUCCESS
    assert job.result == {"sent": 3, "skipped_already_sent": 2, "recipients": 5}
    assert sorted(m.to[0] for m in mail.outbox) == [
        f"u{i}@example.com" for i in (2, 3, 4)
    ]
    run_job.apply(args=(str(job.id),))  # a duplicate message: nothing happens
    assert len(mail.outbox) == 3
