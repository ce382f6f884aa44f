"""Prometheus gauge of jobs by state, read from the database at scrape time."""

from collections.abc import Iterator

from django.db import DatabaseError
from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector


def _family() -> GaugeMetricFamily:
    return GaugeMetricFamily(
        "realtime_jobs", "Jobs in the database by state", labels=["state"]
    )


class JobsByState(Collector):
    def describe(self) -> Iterator[Metric]:
        """Names only, so registering does not query the database."""
        yield _family()

    def collect(self) -> Iterator[Metric]:
        from dashboard.models import Job, JobState

        family = _family()
        try:
            counts = dict(
                Job.objects.values_list("state").annotate(n=Count("id")).order_by()
            )
        except DatabaseError:
            return  # /metrics keeps answering while the database is down
        for state in JobState.values:
            family.add_metric([state], counts.get(state, 0))
        yield family


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(JobsByState())
        _registered = True
