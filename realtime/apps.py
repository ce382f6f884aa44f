from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from realtime.builtin_topics import register_builtin_topics
        from realtime.signals import connect_signals

        register_builtin_topics()
        connect_signals()
