from django import forms
from django.contrib import admin
from django.db import models

from .models import (
    Answer,
    Assessment,
    Capability,
    CapabilityAlias,
    Domain,
    EvidenceFile,
    EvidenceKpi,
    EvidenceRun,
    FrameworkVersion,
    Invitation,
    Membership,
    NextStep,
    OpenLink,
    Organisation,
    Persona,
    Response,
    ScopedCapability,
)
from .text import ControlCharacterValidator


class PlainText:
    """Refuse control characters in every text an admin types.

    Multi-line fields keep tabs and line breaks. Mixed into every ModelAdmin
    and inline below.
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if isinstance(field, forms.CharField):
            multiline = isinstance(db_field, models.TextField)
            field.validators.append(ControlCharacterValidator(multiline=multiline))
        return field


class DomainInline(PlainText, admin.TabularInline):
    model = Domain
    extra = 0
    fields = ["position", "slug", "name"]


class PersonaInline(PlainText, admin.TabularInline):
    model = Persona
    extra = 0
    fields = ["position", "slug", "name", "kind"]


@admin.register(FrameworkVersion)
class FrameworkVersionAdmin(PlainText, admin.ModelAdmin):
    list_display = ["name", "slug", "published"]
    inlines = [DomainInline, PersonaInline]


@admin.register(Domain)
class DomainAdmin(PlainText, admin.ModelAdmin):
    list_display = ["name", "version", "position"]
    list_filter = ["version"]


@admin.register(Persona)
class PersonaAdmin(PlainText, admin.ModelAdmin):
    list_display = ["name", "kind", "version", "position"]
    list_filter = ["version", "kind"]


class CapabilityAliasInline(PlainText, admin.TabularInline):
    model = CapabilityAlias
    extra = 0


class NextStepInline(PlainText, admin.StackedInline):
    model = NextStep
    extra = 0
    fields = [
        ("from_level", "position"),
        "action",
        ("owner", "kpi"),
        ("action_key", "first_round_only"),
    ]


@admin.register(Capability)
class CapabilityAdmin(PlainText, admin.ModelAdmin):
    list_display = ["name", "domain", "position", "foundational_rank", "version"]
    list_filter = ["version", "domain"]
    search_fields = ["name", "description"]
    filter_horizontal = ["default_personas"]
    # The graph lives in the catalogue file, where each edge is justified and
    # the loader rejects cycles; edit it there.
    readonly_fields = ["prerequisites"]
    inlines = [CapabilityAliasInline, NextStepInline]


@admin.register(NextStep)
class NextStepAdmin(PlainText, admin.ModelAdmin):
    list_display = ["capability", "from_level", "position", "owner", "kpi"]
    list_filter = ["capability__version", "from_level", "owner", "first_round_only"]
    search_fields = ["action", "kpi", "action_key"]


class MembershipInline(PlainText, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(PlainText, admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


class ScopedCapabilityInline(PlainText, admin.TabularInline):
    model = ScopedCapability
    extra = 0
    fields = ["capability", "target_level"]


@admin.register(Assessment)
class AssessmentAdmin(PlainText, admin.ModelAdmin):
    list_display = ["title", "organisation", "status", "closes_on", "created_at"]
    list_filter = ["status", "organisation"]
    search_fields = ["title"]
    inlines = [ScopedCapabilityInline]


@admin.register(Invitation)
class InvitationAdmin(PlainText, admin.ModelAdmin):
    list_display = ["__str__", "assessment", "persona", "sent_at", "reminder_count"]
    list_filter = ["assessment__organisation"]
    search_fields = ["email"]


admin.site.register(OpenLink)


class AnswerInline(PlainText, admin.TabularInline):
    model = Answer
    extra = 0


@admin.register(Response)
class ResponseAdmin(PlainText, admin.ModelAdmin):
    list_display = ["__str__", "persona", "status", "submitted_at"]
    list_filter = ["status", "assessment"]
    inlines = [AnswerInline]


@admin.register(EvidenceKpi)
class EvidenceKpiAdmin(admin.ModelAdmin):
    """KPIs from cost data: which capability each evidences, and its levels."""

    list_display = [
        "name",
        "capability",
        "direction",
        "crawl_threshold",
        "walk_threshold",
        "run_threshold",
        "version",
    ]
    list_editable = ["crawl_threshold", "walk_threshold", "run_threshold"]
    list_filter = ["version"]
    fields = [
        ("version", "key", "position"),
        "name",
        "capability",
        "direction",
        ("crawl_threshold", "walk_threshold", "run_threshold"),
        "description",
    ]


class EvidenceFileInline(admin.TabularInline):
    model = EvidenceFile
    extra = 0
    can_delete = False
    readonly_fields = ["name", "size", "storage_name", "deleted_at"]


@admin.register(EvidenceRun)
class EvidenceRunAdmin(admin.ModelAdmin):
    """Processing runs, read-only: what was uploaded and what became of it."""

    list_display = ["assessment", "created_at", "status", "rows", "created_by"]
    list_filter = ["status"]
    inlines = [EvidenceFileInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
