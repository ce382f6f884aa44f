"""ASGI entry point: HTTP to Django; WebSockets via the origin check to /ws/."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realtime.settings")
# Django must be set up before anything imports models (consumers, auth).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from realtime import daphne_compat, gc_tuning  # noqa: E402
from realtime.consumers import realtime_consumer  # noqa: E402

daphne_compat.install()

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(realtime_consumer),
    }
)
gc_tuning.tune()
