"""Agents, users and groups (administrators manage them) and the audit trail (read-only).

Nobody widens rights in admin but a superuser: only a superuser grants superuser or staff
status, permissions (a user's or a group's), or membership of a group whose permissions the
granter lacks (Administrators above all). Administrators hand out the two roles they manage,
Agents and Supervisors, to others, never to themselves. The checks are in the forms and in
`has_change_permission`, so a hand-made POST is refused as the page would be."""

from typing import Any

from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth.models import AnonymousUser, Group, User
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from agentdesk.staff import second_factor, signin
from agentdesk.staff.admin_base import (
    AuditedModelAdmin,
    CardNumberFields,
    HistoryAdmin,
    ReadOnly,
    zoned,
)
from agentdesk.staff.models import ADMINISTRATORS, AGENTS, SUPERVISORS, Agent, AuditEntry

SUPERUSER_ONLY = "Only a superuser can grant this."
NOT_YOUR_OWN = "Nobody changes their own groups; ask a superuser."
NOT_GRANTABLE = "Only a superuser can grant membership of {groups}."
# The roles an administrator hands out (README: administrators manage agents and supervisors).
MANAGED_ROLES = (AGENTS, SUPERVISORS)
STAFF_ROLES = (SUPERVISORS, ADMINISTRATORS)


def _permission_names(group: Group) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in group.permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def may_grant(granter: User | AnonymousUser, group: Group) -> bool:
    """Whether `granter` may put someone into `group` (never Administrators, unless a
    superuser; otherwise a managed role or a group within the granter's own permissions)."""
    if granter.is_superuser:
        return True
    if group.name == ADMINISTRATORS:
        return False
    if group.name in MANAGED_ROLES:
        return True
    return _permission_names(group) <= granter.get_all_permissions()


def may_edit_group(granter: User | AnonymousUser, group: Group) -> bool:
    """Whether `granter` may rename or delete `group`: the role groups and groups holding
    permissions the granter lacks belong to superusers."""
    if granter.is_superuser:
        return True
    if group.name in (*MANAGED_ROLES, ADMINISTRATORS):
        return False
    return _permission_names(group) <= granter.get_all_permissions()


@admin.register(Agent)
class AgentAdmin(AuditedModelAdmin):
    list_display = ["__str__", "vcc_agent_id"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "vcc_agent_id"]
    autocomplete_fields = ["user"]


class AgentInline(CardNumberFields, admin.StackedInline):
    """A user's Agent record, on the user's own page: an agent is added in one screen."""

    model = Agent
    can_delete = False
    extra = 0
    max_num = 1
    verbose_name = "agent at the desk"
    verbose_name_plural = "agent at the desk"


admin.site.unregister(User)
admin.site.unregister(Group)
# Authenticator secrets are nobody's to read in admin, a superuser's neither: a user's second
# factor is reset (an audited action on the user), never looked at.
admin.site.unregister(TOTPDevice)
admin.site.unregister(StaticDevice)


def _guarded_user_form(form: type[forms.ModelForm], granter: User) -> type[forms.ModelForm]:
    """`form`, refusing (with the reason, saving nothing) any change a non-superuser
    `granter` may not make."""

    class GuardedUserForm(form):  # type: ignore[misc,valid-type]
        def clean(self) -> dict[str, Any]:
            cleaned: dict[str, Any] = super().clean()
            for name in ("is_superuser", "is_staff", "user_permissions"):
                if name in self.fields and name in self.changed_data:
                    self.add_error(name, SUPERUSER_ONLY)
            if "groups" in self.fields and "groups" in self.changed_data:
                self._check_groups(cleaned.get("groups"))
            return cleaned

        def _check_groups(self, chosen: Any) -> None:
            if self.instance.pk is not None and self.instance.pk == granter.pk:
                self.add_error("groups", NOT_YOUR_OWN)
                return
            before = set(self.instance.groups.all()) if self.instance.pk else set()
            refused = [g.name for g in set(chosen or []) - before if not may_grant(granter, g)]
            if refused:
                self.add_error("groups", NOT_GRANTABLE.format(groups=", ".join(sorted(refused))))

    return GuardedUserForm


@admin.register(User)
class UserAdmin(AuditedModelAdmin, auth_admin.UserAdmin):  # type: ignore[misc]
    list_display = ["username", "email", "first_name", "last_name", "is_staff", "has_second_factor"]
    actions = ["reset_second_factor"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        confirmed = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return super().get_queryset(request).annotate(second_factor=Exists(confirmed))

    @admin.display(boolean=True, description="second factor", ordering="second_factor")
    def has_second_factor(self, user: Any) -> bool:
        return bool(user.second_factor)

    @admin.action(
        description="Reset the second factor of the selected users", permissions=["change"]
    )
    def reset_second_factor(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Each user sets up a new authenticator at their next sign-in (a lost phone)."""
        assert isinstance(request.user, User)
        refused = [u.get_username() for u in queryset if not self.has_change_permission(request, u)]
        if refused:
            self.message_user(
                request, f"Only a superuser can reset {', '.join(refused)}.", messages.ERROR
            )
            return
        for user in queryset:
            second_factor.reset(user=user, by=request.user, request=request)
        self.message_user(
            request,
            f"Second factor reset for {queryset.count()} user(s): they set up a new "
            "authenticator at their next sign-in.",
        )

    inlines = [AgentInline]
    # One screen for a new person: sign-in, name, role and, for an agent, the VCC agent id.
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "usable_password",
                    "password1",
                    "password2",
                    "first_name",
                    "last_name",
                    "email",
                    "groups",
                ),
            },
        ),
    )

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        if getattr(request.user, "is_superuser", False) or not isinstance(request.user, User):
            return form
        return _guarded_user_form(form, request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A superuser's account (its password above all) is a superuser's to change.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if request.user.is_superuser:
            return
        # Staff status follows the role an administrator gave: supervisors read admin.
        user = form.instance
        staff = user.groups.filter(name__in=STAFF_ROLES).exists()
        if user.is_staff != staff:
            User.objects.filter(pk=user.pk).update(is_staff=staff)


class GuardedGroupForm(forms.ModelForm):
    granter: User | None = None

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        granter = self.granter
        if granter is not None and not granter.is_superuser:
            if "permissions" in self.changed_data:
                self.add_error("permissions", SUPERUSER_ONLY)
        return cleaned


@admin.register(Group)
class GroupAdmin(AuditedModelAdmin, auth_admin.GroupAdmin):  # type: ignore[misc]
    form = GuardedGroupForm

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        granter = request.user if isinstance(request.user, User) else None
        return type(form.__name__, (form,), {"granter": granter})

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not may_edit_group(request.user, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not may_edit_group(request.user, obj):
            return False
        return super().has_delete_permission(request, obj)


@admin.register(AuditEntry)
class AuditEntryAdmin(HistoryAdmin):
    """Who did what and when: sign-ins, payment starts and retries, resolutions, exports and
    admin changes. Nobody edits or deletes it."""

    # Its page shows the same as its row, the time with its zone.
    list_display = fields = readonly_fields = (
        "created",
        "actor_name",
        "action",
        "target",
        "ip_address",
        "details",
    )
    created = zoned("created_at", "when")
    list_filter = ["action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["^actor_name", "^target"]
    search_help_text = "The start of a username, or of what it was done to."
    date_hierarchy = "created_at"
    change_list_template = "admin/history_change_list.html"
    sortable_by = ()


class LockedFilter(admin.SimpleListFilter):
    title = "locked"
    parameter_name = "locked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Locked now")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return locked_now(queryset)
        return queryset


def locked_now(queryset: QuerySet[Any]) -> QuerySet[Any]:
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    return queryset.filter(
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT, attempt_time__gte=since
    )


@admin.register(AccessAttempt)
class LockedSignInAdmin(ReadOnly, admin.ModelAdmin):
    """Failed sign-ins counted by django-axes, per username and address; administrators unlock
    them (audited)."""

    list_display = ["username", "ip_address", "failures_since_start", "last_attempt", "is_locked"]
    list_filter = [LockedFilter]
    search_fields = ["^username", "^ip_address"]
    fields = ["username", "ip_address", "failures_since_start", "last_attempt", "user_agent"]
    readonly_fields = ["last_attempt"]
    last_attempt = zoned("attempt_time", "last attempt")
    actions = ["unlock"]

    @admin.display(boolean=True, description="locked")
    def is_locked(self, attempt: AccessAttempt) -> bool:
        since = timezone.now() - settings.AXES_COOLOFF_TIME
        failures: int = attempt.failures_since_start
        return failures >= settings.AXES_FAILURE_LIMIT and attempt.attempt_time >= since

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting is unlocking: only through the audited action below.
        return False

    def has_unlock_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("axes.delete_accessattempt")

    @admin.action(description="Unlock the selected sign-ins", permissions=["unlock"])
    def unlock(self, request: HttpRequest, queryset: QuerySet[AccessAttempt]) -> None:
        assert isinstance(request.user, User)
        count = signin.unlock(queryset, by=request.user, request=request)
        self.message_user(request, f"{count} sign-in(s) unlocked.")
