from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import importlib

        from django.conf import settings

        from dashboard import builtin_kinds  # noqa: F401 - registers job kinds

        for module in settings.JOB_KIND_MODULES:
            importlib.import_module(module)
        from dashboard.topics import register_dashboard_topics

        register_dashboard_topics()
        from dashboard import metrics

        metrics.register()
