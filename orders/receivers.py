"""orders listens to what lower apps announce."""
from django.dispatch import receiver

from accounts.signals import smart_account_activated


@receiver(smart_account_activated, dispatch_uid="orders.provision_on_activation")
def provision_lines_on_activation(sender, smart_account, actor, **kwargs) -> None:
    from .services import order_lines_provision_for_account

    order_lines_provision_for_account(smart_account=smart_account, actor=actor)
