"""What the benches that run on the configured PostgreSQL and Redis share: Django set up, and a
throwaway database of their own (the configured name with `_bench_<label>`), created and
migrated for the run and dropped after it."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from tests.bench.results_report import load_average


@contextmanager
def throwaway_database(label: str) -> Iterator[str | None]:
    """Django set up on a throwaway database of the bench `label`, whose name is yielded; None
    (and why, printed) without PostgreSQL and Redis. The load average is printed before."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentdesk.settings")
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        print(f"{label}: needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); skipped")
        yield None
        return
    setup_test_environment()
    base = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{base}_bench_{label}"
    print(f"load average (1 min) before: {load_average()}", flush=True)
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield str(name)
    finally:
        connection.creation.destroy_test_db(base, verbosity=0)
        teardown_test_environment()  # the next bench in this process sets it up again
