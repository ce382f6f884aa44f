"""Job API (JSON; session or API token) and the dashboard page."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from dashboard import services
from dashboard.charts import chart_definitions
from dashboard.events import job_data
from dashboard.kinds import all_kinds
from dashboard.models import Job
from realtime.views import bearer_token_matches, json_error, parse_json_body


class Caller:
    """Who calls the job API: a signed-in user, or a backend with the API token."""

    def __init__(self, user: Any, *, is_api: bool) -> None:
        self.user = user
        self.is_api = is_api

    def may_see(self, job: Job) -> bool:
        if self.is_api or self.user.is_staff:
            return True
        return bool(job.owner_id == self.user.pk)


def _csrf_failure(request: HttpRequest) -> HttpResponse | None:
    check = CsrfViewMiddleware(lambda r: HttpResponse())
    check.process_request(request)
    return check.process_view(request, lambda r: HttpResponse(), (), {})


def authenticate(request: HttpRequest) -> Caller | JsonResponse:
    """Bearer REALTIME_API_TOKEN, or a session (with CSRF on unsafe methods)."""
    token = settings.REALTIME_API_TOKEN
    if "Authorization" in request.headers:
        if token and bearer_token_matches(request, token):
            return Caller(None, is_api=True)
        return json_error(401, "unauthorized", "missing or wrong bearer token")
    if not request.user.is_authenticated:
        return json_error(401, "unauthorized", "log in or send the API token")
    if request.method not in {"GET", "HEAD"} and _csrf_failure(request) is not None:
        return json_error(403, "csrf", "CSRF token missing or incorrect")
    return Caller(request.user, is_api=False)


def authorized_job(request: HttpRequest, job_id: str) -> Job | JsonResponse:
    """The job, if the caller may see it; otherwise the error response."""
    caller = authenticate(request)
    if isinstance(caller, JsonResponse):
        return caller
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not caller.may_see(job):
        return json_error(404, "not_found", "no such job")
    return job


@require_GET
def job_kinds(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"kinds": [kind.describe() for kind in all_kinds()]})


@csrf_exempt  # token callers have no cookie; session callers are checked below
@require_http_methods(["GET", "POST"])
def jobs(request: HttpRequest) -> JsonResponse:
    """GET: the caller's jobs. POST {"kind", "params", "callback_url"?}: start one."""
    caller = authenticate(request)
    if isinstance(caller, JsonResponse):
        return caller
    if request.method == "GET":
        listed = Job.objects.all()
        if not (caller.is_api or caller.user.is_staff):
            listed = listed.filter(owner=caller.user)
        return JsonResponse({"jobs": [job_data(job) for job in listed[:100]]})
    try:
        body = parse_json_body(request)
    except (ValueError, RecursionError):
        return json_error(400, "bad_json", "body must be a JSON object")
    if not isinstance(body, dict) or not isinstance(body.get("kind"), str):
        return json_error(
            400, "bad_json", 'body must be {"kind": ..., "params": {...}}'
        )
    callback_url = body.get("callback_url") or ""
    key = request.headers.get("Idempotency-Key")
    if not isinstance(callback_url, str) or (key is not None and len(key) > 200):
        return json_error(400, "bad_request", "bad callback_url or Idempotency-Key")
    try:
        job, created = services.start_job(
            body["kind"],
            body.get("params", {}),
            user=caller.user,
            idempotency_key=key,
            callback_url=callback_url,
        )
    except services.JobRefused as refused:
        return json_error(400, refused.code, refused.message)
    return JsonResponse(job_data(job), status=201 if created else 200)


@csrf_exempt
@require_GET
def job_detail(request: HttpRequest, job_id: str) -> JsonResponse:
    """Polling fallback: the job's state as JSON."""
    job = authorized_job(request, job_id)
    return job if isinstance(job, JsonResponse) else JsonResponse(job_data(job))


@csrf_exempt
@require_http_methods(["POST"])
def job_cancel(request: HttpRequest, job_id: str) -> JsonResponse:
    job = authorized_job(request, job_id)
    if isinstance(job, JsonResponse):
        return job
    return JsonResponse(job_data(services.cancel_job(job)))


@csrf_exempt
@require_GET
def job_result(request: HttpRequest, job_id: str) -> HttpResponse | FileResponse:
    """Download a finished job's result file."""
    job = authorized_job(request, job_id)
    if isinstance(job, JsonResponse):
        return job
    relative = (job.result or {}).get("file") if isinstance(job.result, dict) else None
    media = Path(settings.MEDIA_ROOT).resolve()
    path = (media / relative).resolve() if isinstance(relative, str) else None
    if path is None or media not in path.parents or not path.is_file():
        return json_error(404, "no_result", "this job has no result file")
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


@login_required
@require_GET
def charts_page(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/charts.html", {"charts": chart_definitions()})


@login_required
@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    listed = Job.objects.all()
    if not request.user.is_staff:
        listed = listed.filter(owner_id=request.user.pk)
    context = {
        "jobs": [job_data(job) for job in listed[:50]],
        "kinds": [kind.describe() for kind in all_kinds()],
        "jobs_topic": "jobs.all"
        if request.user.is_staff
        else f"jobs.{request.user.pk}",
    }
    return render(request, "dashboard/jobs.html", context)
