"""Job kinds the dashboard ships: a newsletter to every user."""

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone

from dashboard.kinds import Param, job_kind
from dashboard.models import NewsletterDelivery
from dashboard.progress import Progress


@job_kind(
    "newsletter",
    title="Send a newsletter to every user with an email address",
    params={
        "subject": Param(str, "email subject"),
        "body": Param(str, "plain-text body"),
    },
)
def newsletter(progress: Progress, *, subject: str, body: str) -> dict[str, Any]:
    """One email per user; a redelivered job skips users already sent to."""
    users = list(
        get_user_model()
        .objects.exclude(email="")
        .order_by("pk")
        .values_list("pk", "email")
    )
    progress.stage("sending", total=len(users))
    sent = skipped = 0
    for done, (user_id, email) in enumerate(users, start=1):
        progress.check_cancelled()
        delivery, _ = NewsletterDelivery.objects.get_or_create(
            job_id=progress.job.pk, user_id=user_id
        )
        if delivery.sent_at is None:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
            NewsletterDelivery.objects.filter(pk=delivery.pk).update(
                sent_at=timezone.now()
            )
            sent += 1
        else:
            skipped += 1
        progress.update(done, message=f"sent to {email}")
    return {"sent": sent, "skipped_already_sent": skipped, "recipients": len(users)}
