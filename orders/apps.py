from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders and fulfilment"

    def ready(self) -> None:
        # accounts announces activations; orders provisions the lines that waited for them.
        from . import receivers  # noqa: F401
