"""The shared cache every process relies on (VCC tokens, locks): a value one process writes,
another reads. On CI this is the real Redis; on a laptop, the embedded file cache."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

ROOT = Path(__file__).resolve().parents[2]


def test_cache_is_shared_between_processes() -> None:
    key, value = f"shared-{uuid.uuid4()}", str(uuid.uuid4())
    cache.set(key, value, 30)
    code = (
        "import django; django.setup(); from django.core.cache import cache; "
        f"print(cache.get({key!r}))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "agentdesk.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == value
    cache.delete(key)


def test_redis_backs_cache_and_broker_when_configured(redis_url: str) -> None:
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert settings.CELERY_BROKER_URL == redis_url
    cache.set("ping", "pong", 5)
    assert cache.get("ping") == "pong"
