"""Minimal Django settings for the tutorial-style consumer (bench only)."""

import os

SECRET_KEY = "bench-only"  # noqa: S105 - never served outside a benchmark
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["channels"]
ROOT_URLCONF = "bench.tutorial.urls"
DATABASES: dict[str, dict[str, str]] = {}
ASGI_APPLICATION = "bench.tutorial.asgi.application"
CHANNEL_LAYERS = {
    "default": {
        # BENCH_TUTORIAL_LAYER=pubsub picks RedisPubSubChannelLayer instead.
        "BACKEND": (
            "channels_redis.pubsub.RedisPubSubChannelLayer"
            if os.environ.get("BENCH_TUTORIAL_LAYER") == "pubsub"
            else "channels_redis.core.RedisChannelLayer"
        ),
        "CONFIG": {
            "hosts": [os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")],
            "prefix": os.environ["BENCH_PREFIX"],
        },
    }
}
