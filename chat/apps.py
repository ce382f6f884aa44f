from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from chat import jobs  # noqa: F401 - registers the chat_export job kind
        from chat.topics import register_chat_topics

        register_chat_topics()
