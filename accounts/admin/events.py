"""What the services leave behind, for looking: the audit log, the outbox and invitations."""
from django.contrib import admin, messages
from django.contrib.admin.utils import model_ngettext
from django.db.models import Count

from lib.admin import ReadOnlyAdmin, titled

from ..models import Event, Invitation, Notification, NotificationStatus


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at", "action", "smart_account", "virtual_account", "actor_label", "object_type", "object_repr"
    )
    list_filter = ("action", ("smart_account__kind", titled("account kind")), "smart_account")
    list_select_related = ("smart_account", "virtual_account__smart_account")
    search_fields = ("action", "object_repr", "actor_label", "smart_account__name")
    date_hierarchy = "created_at"
    # Counting a large log for the paginator is the slow part; show "more" instead.
    show_full_result_count = False


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    # "Uncertain" rows (a worker died mid-send; see NotificationStatus) are the ones to review:
    # filter by status, check with the recipient or the mail logs, re-send if it did not arrive.
    list_display = ("kind", "recipient", "subject", "status", "attempts", "created_at", "claimed_at", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("recipient", "subject", "object_key")
    date_hierarchy = "created_at"
    actions = ("resend_selected",)

    @admin.action(description="Re-send selected failed/pending/uncertain")
    def resend_selected(self, request, queryset):
        from accounts import services

        ids = services.notification_retry(notification_ids=list(queryset.values_list("pk", flat=True)))
        if ids:
            self.message_user(
                request, f"{len(ids)} {model_ngettext(self.opts, len(ids))} queued for sending.", messages.SUCCESS
            )
        skipped = dict(queryset.exclude(pk__in=ids).order_by().values_list("status").annotate(n=Count("pk")))
        if skipped.get(NotificationStatus.SENT):
            self.message_user(request, f"{skipped[NotificationStatus.SENT]} already sent, skipped.", messages.WARNING)
        if skipped.get(NotificationStatus.SENDING):
            self.message_user(request, f"{skipped[NotificationStatus.SENDING]} being sent right now, skipped.", messages.WARNING)


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("purpose", "email", "smart_account", "object_key", "created_at", "expires_at", "used_at")
    list_filter = ("purpose", ("used_at", admin.EmptyFieldListFilter))
    list_select_related = ("smart_account",)
    search_fields = ("email", "object_key", "smart_account__name")
    exclude = ("key",)  # the signed link's secret part: not for display
    date_hierarchy = "created_at"
