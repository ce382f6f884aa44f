"""Topic kinds for jobs: `task.<id>` (one job), `jobs.<user id>` and `jobs.all`."""

import re

from channels.db import database_sync_to_async

from dashboard.models import Job
from realtime import topics
from realtime.topics import Principal, TopicKind

HOUR = 3600


@database_sync_to_async
def _owns_job(principal: Principal, job_id: str) -> bool:
    return Job.objects.filter(pk=job_id, owner_id=principal.user_id).exists()


async def owner_or_staff(principal: Principal, match: re.Match[str]) -> bool:
    if principal.is_staff:
        return True
    if principal.user_id is None:
        return False
    return await _owns_job(principal, match["id"])


TASK = TopicKind(
    name="task",
    pattern=re.compile(
        r"task\.(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    ),
    can_subscribe=owner_or_staff,
    history_size=100,
    history_ttl=HOUR,
    description="One job's progress; its owner and staff may subscribe.",
)
USER_JOBS = TopicKind(
    name="jobs",
    pattern=re.compile(r"jobs\.(?P<id>[0-9]{1,18})"),
    can_subscribe=topics.allow_that_user,
    history_size=100,
    history_ttl=HOUR,
    description="Updates of every job one user owns.",
)
ALL_JOBS = TopicKind(
    name="jobs.all",
    pattern=re.compile(r"jobs\.all"),
    can_subscribe=topics.allow_staff,
    history_size=100,
    history_ttl=HOUR,
    description="Updates of every job (staff).",
)


async def signed_in(principal: Principal, match: re.Match[str]) -> bool:
    return principal.is_authenticated


CHART = TopicKind(
    name="chart",
    pattern=re.compile(r"chart\.[A-Za-z0-9_\-]{1,80}"),
    can_subscribe=signed_in,
    history_size=300,
    history_ttl=10 * 60,
    description="A live time series (charts.record); signed-in users read.",
)


def register_dashboard_topics() -> None:
    for kind in (TASK, USER_JOBS, ALL_JOBS, CHART):
        topics.register(kind)
