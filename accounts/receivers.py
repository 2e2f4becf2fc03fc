"""accounts listens for a new password (any path: allauth, the admin, `changepassword`, a shell)
and for MFA turned off: each ends every API credential of the user."""
from allauth.mfa.signals import authenticator_removed
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import User


@receiver(post_save, sender=User, dispatch_uid="accounts.revoke_api_keys_on_new_password")
def revoke_api_keys_on_new_password(sender, instance: User, created: bool, **kwargs) -> None:
    # Django keeps the raw password in `_password` from set_password() until the save ends; a hash
    # upgrade at sign-in clears it first, so only a new password gets here.
    if created or getattr(instance, "_password", None) is None:
        return
    from .services import api_credentials_revoke_all

    because = getattr(instance, "new_password_because", "password_changed")
    api_credentials_revoke_all(user=instance, because=because)


@receiver(authenticator_removed, dispatch_uid="accounts.revoke_api_keys_on_mfa_removed")
def revoke_api_keys_on_mfa_removed(sender, request, user, **kwargs) -> None:
    from .services import api_credentials_revoke_all

    api_credentials_revoke_all(user=user, because="mfa_removed")
