"""Partners and their members: created and changed through the partner and membership services,
so that the portal's rules hold here too."""
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms import BaseInlineFormSet

from lib.admin import call_service

from ..models import Partner, PartnerKind, PartnerMembership


class PartnerMembershipFormSet(BaseInlineFormSet):
    """Saved by PartnerAdmin.save_formset through the membership services (never directly), so
    that the rules of the portal hold here too (a partner keeps at least one admin)."""


class PartnerMembershipInline(admin.TabularInline):
    model = PartnerMembership
    formset = PartnerMembershipFormSet
    extra = 0
    autocomplete_fields = ("user",)
    readonly_fields = ("created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "partner")


class PartnerAdminForm(forms.ModelForm):
    """Checked by the partner services' rules (the same as the API's): errors show next to their
    fields and nothing is saved."""

    class Meta:
        model = Partner
        fields = "__all__"

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        # partner_create's rule (partner_update's is checked in clean, with the kind).
        if self.instance.pk is None and Partner.objects.filter(name__iexact=" ".join(name.split())).exists():
            raise ValidationError("A partner with this name already exists.")
        return name

    def clean(self):
        from accounts import services

        cleaned_data = super().clean()
        keys = ("name", "kind")
        if any(key in self.errors for key in keys) or not all(key in cleaned_data for key in keys):
            return cleaned_data
        resellers = cleaned_data.get("linked_resellers")
        if self.instance.pk is None:
            if resellers and cleaned_data["kind"] != PartnerKind.DISTRIBUTOR:
                raise ValidationError({"linked_resellers": "Only a distributor has linked resellers."})
            return cleaned_data
        try:
            valid = services.partner_validate(
                partner=Partner.objects.get(pk=self.instance.pk), name=cleaned_data["name"],
                kind=cleaned_data["kind"], linked_resellers=resellers,
            )
        except ValidationError as exc:
            raise ValidationError(exc.message_dict)
        cleaned_data["name"] = valid["name"]  # e.g. its spaces squeezed
        return cleaned_data


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    """A new partner is created by `partner_create` and changed by `partner_update` (its name,
    kind and linked resellers); its members are added, made admins and removed by the membership
    services (refusals are shown as messages). Partners are not deleted here: no service does it,
    and their accounts and orders name them."""

    form = PartnerAdminForm
    list_display = ("name", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("name",)
    readonly_fields = ("created_at",)
    filter_horizontal = ("linked_resellers",)
    inlines = (PartnerMembershipInline,)
    date_hierarchy = "created_at"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "linked_resellers":
            kwargs["queryset"] = Partner.objects.filter(kind=PartnerKind.RESELLER)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        from accounts import services

        resellers = form.cleaned_data.get("linked_resellers")
        if change:
            call_service(
                self, request,
                lambda: services.partner_update(
                    partner=obj, name=obj.name, kind=obj.kind, linked_resellers=resellers, actor=request.user
                ),
                f"{obj.name} not changed",
            )
            return
        partner = services.partner_create(name=obj.name, kind=obj.kind, actor=request.user)
        obj.pk, obj._state, obj.name, obj.created_at = partner.pk, partner._state, partner.name, partner.created_at
        if resellers:
            call_service(
                self, request,
                lambda: services.partner_update(partner=partner, linked_resellers=resellers, actor=request.user),
                "Linked resellers not set",
            )

    def save_related(self, request, form, formsets, change):
        # The linked resellers went through partner_update in save_model: no form.save_m2m().
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        if not isinstance(formset, PartnerMembershipFormSet):
            return super().save_formset(request, form, formset, change)
        from accounts import services

        partner = form.instance
        formset.save(commit=False)  # fills new_objects, changed_objects, deleted_objects; writes nothing
        saved_new, saved_changed, removed = [], [], []

        # Additions first, so that adding a new admin and removing the old one in one save works.
        for new in formset.new_objects:
            membership = call_service(
                self, request,
                lambda: services.partner_member_add(partner=partner, email=new.user.email, is_admin=new.is_admin, actor=request.user),
                f"{new.user.email} not added",
            )
            if membership is not None:
                saved_new.append(membership)
        for edited, changed_fields in formset.changed_objects:
            current = PartnerMembership.objects.select_related("user", "partner").get(pk=edited.pk)
            if "user" in changed_fields:  # another person in this row: add them, then remove the old one
                added = call_service(
                    self, request,
                    lambda: services.partner_member_add(partner=partner, email=edited.user.email, is_admin=edited.is_admin, actor=request.user),
                    f"{edited.user.email} not added",
                )
                if added is not None and call_service(
                    self, request,
                    lambda: services.partner_member_remove(membership=current, actor=request.user) or True,
                    f"{current.user.email} not removed",
                ):
                    saved_changed.append((added, changed_fields))
            elif "is_admin" in changed_fields:
                done = call_service(
                    self, request,
                    lambda: services.partner_member_set_admin(membership=current, is_admin=edited.is_admin, actor=request.user),
                    f"{current.user.email} not changed",
                )
                if done is not None:
                    saved_changed.append((done, changed_fields))
        for deleted in formset.deleted_objects:
            current = PartnerMembership.objects.select_related("user", "partner").filter(pk=deleted.pk).first()
            if current is not None and call_service(
                self, request,
                lambda: services.partner_member_remove(membership=current, actor=request.user) or True,
                f"{current.user.email} not removed",
            ):
                removed.append(current)
        # What Django's change message (the admin history) reads from a saved formset.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = saved_new, saved_changed, removed
