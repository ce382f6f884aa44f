"""Job kinds for tests only (the worker imports them through CELERY_IMPORTS)."""

import time
from typing import Any

from dashboard.kinds import Param, TransientJobError, job_kind
from dashboard.progress import Progress


@job_kind(
    "test_steps",
    title="(tests) count through steps, pausing between them",
    params={
        "steps": Param(int),
        "pause": Param(float, required=False),
        "flaky_attempts": Param(int, required=False),
        "fail": Param(bool, required=False),
    },
)
def steps(
    progress: Progress,
    *,
    steps: int,
    pause: float = 0.0,
    flaky_attempts: int = 0,
    fail: bool = False,
) -> dict[str, Any]:
    if progress.job.attempt <= flaky_attempts:
        raise TransientJobError(f"flaky on attempt {progress.job.attempt}")
    if fail:
        raise ValueError("this job always fails")
    progress.stage("counting", total=steps)
    for step in range(1, steps + 1):
        progress.check_cancelled()
        time.sleep(pause)
        progress.update(step, message=f"step {step}")
    return {"counted": steps}
