from django.urls import path

from dashboard import views

api_urlpatterns = [
    path("jobs", views.jobs, name="api-jobs"),
    path("jobs/kinds", views.job_kinds, name="api-job-kinds"),
    path("jobs/<uuid:job_id>", views.job_detail, name="api-job"),
    path("jobs/<uuid:job_id>/cancel", views.job_cancel, name="api-job-cancel"),
    path("jobs/<uuid:job_id>/result", views.job_result, name="api-job-result"),
]

page_urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("charts/", views.charts_page, name="charts"),
]
