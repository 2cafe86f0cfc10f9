from django.contrib import admin

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


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ["position", "slug", "name"]


class PersonaInline(admin.TabularInline):
    model = Persona
    extra = 0
    fields = ["position", "slug", "name", "kind"]


@admin.register(FrameworkVersion)
class FrameworkVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "published"]
    inlines = [DomainInline, PersonaInline]


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "position"]
    list_filter = ["version"]


@admin.register(Persona)
class PersonaAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "version", "position"]
    list_filter = ["version", "kind"]


class CapabilityAliasInline(admin.TabularInline):
    model = CapabilityAlias
    extra = 0


class NextStepInline(admin.StackedInline):
    model = NextStep
    extra = 0
    fields = [("from_level", "position"), "action", ("owner", "kpi")]


@admin.register(Capability)
class CapabilityAdmin(admin.ModelAdmin):
    list_display = ["name", "domain", "position", "foundational_rank", "version"]
    list_filter = ["version", "domain"]
    search_fields = ["name", "description"]
    filter_horizontal = ["default_personas"]
    inlines = [CapabilityAliasInline, NextStepInline]


@admin.register(NextStep)
class NextStepAdmin(admin.ModelAdmin):
    list_display = ["capability", "from_level", "position", "owner", "kpi"]
    list_filter = ["capability__version", "from_level", "owner"]
    search_fields = ["action", "kpi"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


class ScopedCapabilityInline(admin.TabularInline):
    model = ScopedCapability
    extra = 0
    fields = ["capability", "target_level"]


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    list_display = ["title", "organisation", "status", "closes_on", "created_at"]
    list_filter = ["status", "organisation"]
    search_fields = ["title"]
    inlines = [ScopedCapabilityInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["__str__", "assessment", "persona", "sent_at", "reminder_count"]
    list_filter = ["assessment__organisation"]
    search_fields = ["email"]


admin.site.register(OpenLink)


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
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
