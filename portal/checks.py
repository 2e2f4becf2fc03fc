"""Deployment checks of the portal's own (run by `manage.py check --deploy`)."""
from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def login_rate_limits_are_shared(app_configs, **kwargs) -> list[Warning]:
    """allauth counts failed logins in the default cache: a per-process cache lets N workers
    take N times the limit."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("LocMemCache", "DummyCache")):
        return [Warning(
            "Login rate limits are counted per process (the default cache is not shared).",
            hint="Set REDIS_URL so that every worker and node counts failed logins in one Redis cache.",
            id="portal.W001",
        )]
    return []
