from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (a new password or MFA turned off ends API keys)
        from . import tasks  # noqa: F401  (registered with Celery: services enqueue them by name)
