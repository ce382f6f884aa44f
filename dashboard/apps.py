from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dashboard import builtin_kinds  # noqa: F401 - registers job kinds
        from dashboard.topics import register_dashboard_topics

        register_dashboard_topics()
