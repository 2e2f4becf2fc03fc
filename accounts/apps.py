from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and access"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to allauth's password and MFA signals)
