"""accounts listens to allauth: a changed password or MFA ends every API credential of the user."""
from allauth.account.signals import password_changed, password_reset, password_set
from allauth.mfa.signals import authenticator_removed
from django.dispatch import receiver


@receiver(password_changed, dispatch_uid="accounts.revoke_api_keys_on_password_change")
@receiver(password_set, dispatch_uid="accounts.revoke_api_keys_on_password_set")
def revoke_api_keys_on_password_change(sender, request, user, **kwargs) -> None:
    from .services import api_credentials_revoke_all

    api_credentials_revoke_all(user=user, because="password_changed")


@receiver(password_reset, dispatch_uid="accounts.revoke_api_keys_on_password_reset")
def revoke_api_keys_on_password_reset(sender, request, user, **kwargs) -> None:
    from .services import api_credentials_revoke_all

    api_credentials_revoke_all(user=user, because="password_reset")


@receiver(authenticator_removed, dispatch_uid="accounts.revoke_api_keys_on_mfa_removed")
def revoke_api_keys_on_mfa_removed(sender, request, user, **kwargs) -> None:
    from .services import api_credentials_revoke_all

    api_credentials_revoke_all(user=user, because="mfa_removed")
