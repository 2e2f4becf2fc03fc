"""Forms of the accounts pages: shape and type only; the rules live in accounts.services."""
from __future__ import annotations

from django import forms

from .models import SA_ROLES, Role, SmartAccount, VirtualAccount


def virtual_account_label(va: VirtualAccount) -> str:
    return "\u2003" * va.level + va.name


class VirtualAccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: VirtualAccount) -> str:
        return virtual_account_label(obj)


class VirtualAccountMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: VirtualAccount) -> str:
        return virtual_account_label(obj)


class DomainSearchForm(forms.Form):
    domain = forms.CharField(max_length=253, help_text="The exact domain, e.g. acme.com")


class SmartAccountCreateForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Your company's name as your colleagues know it.")
    domain = forms.CharField(max_length=253, help_text="Your own email domain.")


class SmartAccountRequestForm(forms.Form):
    name = forms.CharField(max_length=200, label="Customer company name")
    domain = forms.CharField(max_length=253, help_text="The customer's domain, e.g. acme.com")
    contact_email = forms.EmailField(
        label="Customer contact email",
        help_text="A registered portal user whose email is in that domain; they activate the account.",
    )


class ActivationForm(forms.Form):
    grant_partner_role = forms.ChoiceField(
        required=False,
        label="Role for the partner who requested the account",
        choices=[("", "No role for now")] + [(r.value, r.label) for r in Role if r in SA_ROLES],
        help_text="You can change or revoke it at any time on the Users page.",
    )


class AccessRequestForm(forms.Form):
    """The scope in words: a requester without a role is shown nothing of the account's tree."""

    scope = forms.ChoiceField(
        label="Access to", choices=[("account", "The whole account"), ("part", "Part of it, described below")],
        widget=forms.RadioSelect, initial="account",
    )
    scope_wanted = forms.CharField(
        label="Which part", max_length=200, required=False,
        help_text="In your own words, e.g. “Finance in the US” or “the Paris office”. "
                  "The admins choose the exact Virtual Accounts and your role.",
    )
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000,
                              help_text="Tell the admins who you are and why you need access.")

    def clean(self):
        data = super().clean()
        if data.get("scope") == "part" and not (data.get("scope_wanted") or "").strip():
            self.add_error("scope_wanted", "Say which part of the account you need.")
        if data.get("scope") == "account":
            data["scope_wanted"] = ""
        return data


class VirtualAccountForm(forms.Form):
    name = forms.CharField(max_length=100)
    parent = VirtualAccountChoiceField(queryset=VirtualAccount.objects.none(), label="Parent Virtual Account")
    description = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, parents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents.order_by("tree_id", "lft")


ADMIN_ROLES = (Role.SA_ADMIN, Role.VA_ADMIN)  # granted only after a confirmation step


class RoleGrantForm(forms.Form):
    """Grant a role. The least privilege is preselected (viewer); an admin role is granted only
    once `confirmed` comes back from the confirmation page."""

    user_email = forms.EmailField(label="User's email", help_text="Any registered user, partner users included.")
    role = forms.ChoiceField(choices=Role.choices)
    virtual_account = VirtualAccountChoiceField(queryset=VirtualAccount.objects.none(), required=False, empty_label="—",
                                                label="Virtual Account (for VA roles)",
                                                help_text="For Virtual Account roles: the top of the subtree.")
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, virtual_accounts, sa_roles_allowed: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["virtual_account"].queryset = virtual_accounts.order_by("tree_id", "lft")
        self.fields["role"].initial = Role.SA_VIEWER if sa_roles_allowed else Role.VA_VIEWER
        if not sa_roles_allowed:
            self.fields["role"].choices = [(r.value, r.label) for r in Role if r not in SA_ROLES]

    def needs_confirmation(self) -> bool:
        return self.cleaned_data["role"] in ADMIN_ROLES and not self.cleaned_data["confirmed"]


class AccessRequestApproveForm(forms.Form):
    """Approve an access request. Preselected: the least privilege matching what was asked (a
    viewer of the Virtual Accounts named, else of the whole account); an admin role needs the
    confirmation step, as in RoleGrantForm."""

    role = forms.ChoiceField(choices=Role.choices)
    virtual_accounts = VirtualAccountMultipleChoiceField(queryset=VirtualAccount.objects.none(), required=False,
                                                         help_text="For Virtual Account roles only.")
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, smart_account: SmartAccount, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["virtual_accounts"].queryset = VirtualAccount.objects.filter(smart_account=smart_account).order_by("tree_id", "lft")

    @staticmethod
    def least_privilege(requested_virtual_accounts) -> str:
        """The role preselected for a request: viewer of what it names."""
        return Role.VA_VIEWER if requested_virtual_accounts else Role.SA_VIEWER

    def needs_confirmation(self) -> bool:
        return self.cleaned_data["role"] in ADMIN_ROLES and not self.cleaned_data["confirmed"]


class AccessRequestDenyForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)


# --- partner pages, support, API keys, privacy (issue 3) -------------------------------------


class PartnerMemberInviteForm(forms.Form):
    email = forms.EmailField(label="Colleague's email",
                             help_text="They get a link to accept; they join once they accept it, signed in with this address.")
    is_admin = forms.BooleanField(required=False, label="Invite them as a partner admin",
                                  help_text="Partner admins invite and remove members and manage holding accounts.")


class PartnerInvitationResponseForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("decline", "Decline")])


class HoldingAccountCreateForm(forms.Form):
    name = forms.CharField(max_length=200, label="Holding account name",
                           help_text="For example “Northwind stock”. Most partners need just one.")


class HoldingMemberAddForm(forms.Form):
    email = forms.EmailField(label="Member's email", help_text="A member of your partner organisation.")
    notify = forms.BooleanField(required=False, initial=True, label="Email them when orders arrive here")


class HoldingMemberNotifyForm(forms.Form):
    notify = forms.BooleanField(required=False)


class SmartAccountChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SmartAccount) -> str:
        return f"{obj.name} (holding account)" if obj.is_holding else f"{obj.name} ({obj.domain})"


class SupportCaseForm(forms.Form):
    subject = forms.CharField(max_length=200, help_text="One line: what went wrong or what you need.")
    smart_account = SmartAccountChoiceField(
        queryset=SmartAccount.objects.none(), required=False, label="Account it is about",
        empty_label="— Not about one account —",
    )
    order_number = forms.CharField(max_length=40, required=False, label="Order number",
                                   help_text="If it is about an order, e.g. SO-100042.")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label="Description", max_length=10000,
                           help_text="What you did, what you expected, what happened instead.")

    def __init__(self, *args, accounts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["smart_account"].queryset = accounts


class SupportReplyForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="Your reply", max_length=10000)


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(max_length=100, label="Key name",
                           help_text="What uses it, e.g. “inventory sync script”; you can revoke it by name later.")
    # Checked (1–365) by services.api_key_create, whose error lands next to this field.
    expires_in_days = forms.IntegerField(
        required=False, label="Expires after (days)",
        help_text="1 to 365; leave empty for a key that works until you revoke it. Shorter is safer.",
    )


class AccountCloseForm(forms.Form):
    confirm_email = forms.CharField(label="Type your email address to confirm", max_length=254)

    # The typed email is checked by services.user_close(confirm_email=…), run by the view.

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
