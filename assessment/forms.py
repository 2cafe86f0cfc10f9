"""Forms of the owners' side: assessment settings, scope, routing, invitations."""

import datetime
import re

from crispy_forms.helper import FormHelper
from django import forms
from django.utils import timezone

from . import display
from .invitations import NotTextError, decode_upload
from .invitee_list import PARAM_MAX, SOURCES, STATUSES
from .models import (
    Assessment,
    Capability,
    FrameworkVersion,
    Level,
    Persona,
    ScopedCapability,
)
from .text import PlainTextField

MAX_UPLOAD_BYTES = 1_000_000


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _helper() -> FormHelper:
    """Render fields only: templates own the <form> tag and buttons."""
    helper = FormHelper()
    helper.form_tag = False
    return helper


class AssessmentForm(forms.Form):
    """Title, scope label, personas, anonymity threshold and dates."""

    title = PlainTextField(max_length=150)
    scope_label = PlainTextField(
        label="Business unit or scope",
        max_length=120,
        required=False,
        help_text='For example "Platform BU" or "All of Acme".',
    )
    framework = forms.ModelChoiceField(
        label="Framework version",
        queryset=FrameworkVersion.objects.all(),
        empty_label=None,
        help_text="Fixed once the assessment is created.",
    )
    personas = forms.ModelMultipleChoiceField(
        label="Personas invited",
        queryset=Persona.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Invite at least one persona."},
    )
    anonymity_threshold = forms.IntegerField(
        label="Anonymity threshold (k)",
        min_value=1,
        max_value=50,
        initial=3,
        help_text="No breakdown is shown for a group with fewer respondents.",
    )
    opens_on = forms.DateField(label="Opens on", required=False, widget=DateInput())
    closes_on = forms.DateField(label="Closes on", required=False, widget=DateInput())
    remind_every_days = forms.IntegerField(
        label="Remind every … days",
        required=False,
        min_value=1,
        max_value=60,
        help_text="While the assessment is open, until its closing date, "
        "everyone who has not submitted gets a reminder this many days after "
        "their invitation or last reminder. Leave empty to remind only when "
        "you choose.",
    )
    comments_published = forms.BooleanField(
        label="Show participants' comments to viewers",
        required=False,
        help_text="Viewers (leadership) then read the comments on the results "
        "page, and owners may add them to the PDF report. A comment is never "
        "shown with its author's name or email address, but it is quoted as "
        "written: read the comments on the results page before publishing.",
    )

    def __init__(self, *args, framework: FrameworkVersion, editing: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        self.fields["personas"].queryset = framework.personas.all()
        if editing:
            del self.fields["framework"]
        else:
            # Comments are published once there are some to read.
            del self.fields["comments_published"]
            self.fields["framework"].initial = framework.pk
            self.fields["personas"].initial = list(framework.personas.all())

    def clean(self):
        data = super().clean()
        opens_on, closes_on = data.get("opens_on"), data.get("closes_on")
        if opens_on and closes_on and closes_on < opens_on:
            self.add_error("closes_on", "The closing date must not be before opening.")
        return data


class ClosingDateForm(forms.Form):
    """The optional new closing date asked for when reopening."""

    closes_on = forms.DateField(
        label="New closing date",
        required=False,
        widget=DateInput(),
        help_text="Leave empty to keep the current one.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()

    def clean_closes_on(self):
        closes_on = self.cleaned_data["closes_on"]
        if closes_on and closes_on < timezone.localdate():
            raise forms.ValidationError("Choose today or a later date.")
        return closes_on


class ClosingForm(forms.Form):
    """Closing: when some figures would be held back (`looks`), keep the last
    published results for viewers (the default) or include the late
    responses and hold back what would reveal them."""

    KEEP, INCLUDE = "keep", "include"
    final = forms.ChoiceField(
        choices=[(KEEP, "Keep the last published results"), (INCLUDE, "Include")],
        required=False,
        initial=KEEP,
        widget=forms.RadioSelect,
    )

    @property
    def keep_published(self) -> bool:
        return self.cleaned_data.get("final", "") in ("", self.KEEP)


class ScopeForm(forms.Form):
    """One "in scope" checkbox and one target level per capability.

    Field names are `in_<id>` and `target_<id>`; `rows` pairs them with the
    capability so templates can group them by domain.
    """

    def __init__(
        self,
        *args,
        capabilities: list[Capability],
        targets: dict[int, int] | None = None,
        importance: dict[int, str] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.capabilities = capabilities
        self.current_importance = importance or {}
        scoped = (
            targets if targets is not None else {c.pk: Level.WALK for c in capabilities}
        )
        for c in capabilities:
            self.fields[f"in_{c.pk}"] = forms.BooleanField(
                label=f"{c.name} in scope", required=False, initial=c.pk in scoped
            )
            self.fields[f"target_{c.pk}"] = forms.TypedChoiceField(
                label=f"Target level for {c.name}",
                choices=Level.choices,
                coerce=int,
                initial=scoped.get(c.pk, Level.WALK),
            )
            # Not required: a form posted without it keeps the importance
            # the capability has (normal for a new one).
            self.fields[f"importance_{c.pk}"] = forms.ChoiceField(
                label=f"Importance of {c.name}",
                choices=ScopedCapability.Importance.choices,
                required=False,
                initial=self._importance_of(c.pk),
            )

    def _importance_of(self, pk: int) -> str:
        return self.current_importance.get(pk, ScopedCapability.Importance.NORMAL)

    @property
    def rows(self) -> list[tuple[Capability, forms.BoundField, ...]]:
        return [
            (
                c,
                self[f"in_{c.pk}"],
                self[f"target_{c.pk}"],
                self[f"importance_{c.pk}"],
            )
            for c in self.capabilities
        ]

    def clean(self):
        data = super().clean()
        if not self.errors and not self.targets():
            raise forms.ValidationError("Keep at least one capability in scope.")
        return data

    def targets(self) -> dict[int, int]:
        """Return capability id -> target level for the capabilities ticked."""
        data = self.cleaned_data
        return {
            c.pk: data[f"target_{c.pk}"]
            for c in self.capabilities
            if data.get(f"in_{c.pk}") and f"target_{c.pk}" in data
        }

    def importance(self) -> dict[int, str]:
        """Return capability id -> importance for the capabilities ticked."""
        data = self.cleaned_data
        return {
            pk: data.get(f"importance_{pk}") or self._importance_of(pk)
            for pk in self.targets()
        }


class RoutingForm(forms.Form):
    """Which personas are asked about each scoped capability (a grid)."""

    def __init__(self, *args, scoped: list, personas: list[Persona], **kwargs):
        super().__init__(*args, **kwargs)
        self.scoped = scoped
        self.personas = personas
        choices = [(p.pk, p.name) for p in personas]
        for item in scoped:
            self.fields[f"route_{item.pk}"] = forms.TypedMultipleChoiceField(
                label=f"Personas asked about {item.capability.name}",
                choices=choices,
                coerce=int,
                required=False,
                widget=forms.CheckboxSelectMultiple,
                initial=[p.pk for p in item.personas.all()],
            )

    @property
    def rows(self) -> list[tuple[object, list[tuple[Persona, bool, str]]]]:
        """Return, per scoped capability, each persona with its checkbox state."""
        rows = []
        for item in self.scoped:
            bound = self[f"route_{item.pk}"]
            chosen = {str(v) for v in (bound.value() or [])}
            rows.append(
                (
                    item,
                    [(p, str(p.pk) in chosen, bound.html_name) for p in self.personas],
                )
            )
        return rows

    def clean(self):
        data = super().clean()
        # A field this form did not render would otherwise be ignored silently
        # while every rendered one, absent from the POST, read as "nobody".
        foreign = [key for key in self.data if key.startswith("route_")]
        if any(key not in self.fields for key in foreign):
            raise forms.ValidationError(
                "This form is out of date or was changed: it names capabilities "
                "that are not in this assessment's scope. Nothing was saved; "
                "check the grid below and save again."
            )
        if not self.errors:
            unasked = [
                item.capability.name
                for item in self.scoped
                if not data.get(f"route_{item.pk}")
            ]
            if unasked:
                raise forms.ValidationError(
                    "Ask at least one persona about each capability in scope "
                    "(or take the capability out of scope). Nobody is asked "
                    "about: " + ", ".join(unasked) + "."
                )
        return data

    def routes(self) -> dict[int, set[int]]:
        return {
            item.pk: set(self.cleaned_data[f"route_{item.pk}"]) for item in self.scoped
        }


class InviteeImportForm(forms.Form):
    """Pasted `email, persona[, business unit]` lines or the same as a CSV file."""

    lines = forms.CharField(
        label="Participants, one per line",
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 8,
                "placeholder": "ana@example.com, Finance, Retail BU\n"
                "li@example.com, engineering",
                "spellcheck": "false",
            }
        ),
        help_text="email, persona[, business unit]. The persona may be its name "
        "or its short name (finops-practitioner, engineering, finance…).",
    )
    csv_file = forms.FileField(
        label="…or upload a CSV file with the same columns",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,text/plain"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()

    def clean_csv_file(self):
        upload = self.cleaned_data.get("csv_file")
        if not upload:
            return upload
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 1 MB.")
        try:
            self.upload_text = decode_upload(upload.read())
        except NotTextError as error:
            raise forms.ValidationError(str(error)) from error
        return upload

    def text(self) -> str:
        """Return the lines to import: the uploaded file's, else those pasted."""
        if self.cleaned_data.get("csv_file"):
            return self.upload_text
        return self.cleaned_data["lines"]

    def clean(self):
        data = super().clean()
        if (
            not self.errors
            and not data.get("lines", "").strip()
            and not data.get("csv_file")
        ):
            raise forms.ValidationError("Paste some lines or choose a CSV file.")
        return data


class InviteeFilterForm(forms.Form):
    """Search and filters of the invitees list (GET), options with their counts.

    Every field is optional; an unknown value is reported on its field and
    that filter left out, never an error page.
    """

    q = forms.CharField(label="Search by address", required=False, max_length=PARAM_MAX)
    persona = forms.ChoiceField(label="Persona", required=False)
    status = forms.ChoiceField(label="Status", required=False)
    source = forms.ChoiceField(label="Came", required=False)

    def __init__(
        self, *args, personas: list[Persona], counts: dict[str, int], **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.personas = {p.slug: p for p in personas}

        def option(label: str, key: str) -> str:
            return f"{label} ({display.count(counts.get(key) or 0)})"

        total = option("All", "total")
        self.fields["persona"].choices = [("", total)] + [
            (p.slug, option(p.name, f"persona-{p.pk}")) for p in personas
        ]
        self.fields["status"].choices = [("", total)] + [
            (name, option(item.label, name)) for name, item in STATUSES.items()
        ]
        self.fields["source"].choices = [("", "Either way")] + [
            (name, option(item.label, name)) for name, item in SOURCES.items()
        ]

    def clean_persona(self) -> Persona | None:
        return self.personas.get(self.cleaned_data["persona"])

    def filters(self) -> dict:
        """Return the valid filters, for `invitees_matching`."""
        self.is_valid()
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if value not in ("", None)
        }


class OpenLinkForm(forms.Form):
    persona = forms.ModelChoiceField(
        label="Persona", queryset=Persona.objects.none(), empty_label=None
    )
    allow_persona_choice = forms.BooleanField(
        label="Let people choose another persona",
        required=False,
        help_text="Off: everyone who joins answers as this persona, so nobody can "
        "join as a small persona to see its answers.",
    )

    def __init__(self, *args, assessment: Assessment, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _helper()
        self.fields["persona"].queryset = assessment.personas.all()


# ---------------------------------------------------------------------------
# Cost evidence
# ---------------------------------------------------------------------------

# FOCUS ServiceCategory values.
SERVICE_CATEGORIES = [
    "AI and Machine Learning",
    "Analytics",
    "Business Applications",
    "Compute",
    "Databases",
    "Developer Tools",
    "Identity",
    "Integration",
    "Internet of Things",
    "Management and Governance",
    "Media",
    "Migration",
    "Mobile",
    "Multicloud",
    "Networking",
    "Security",
    "Storage",
    "Web",
    "Other",
]
# Characters providers allow in tag keys (AWS is the strictest of them).
TAG_KEY = re.compile(r"[\w .:/=+\-@]{1,128}")
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
MAX_FILES = 20
MONTHS_OFFERED = 24


def recent_months(today: datetime.date | None = None) -> list[str]:
    """Return the last MONTHS_OFFERED months, newest first: "2026-11"."""
    today = today or timezone.localdate()
    year, month = today.year, today.month
    months = []
    for _ in range(MONTHS_OFFERED):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """A file field that accepts several files and cleans to a list."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget",
            MultipleFileInput(attrs={"accept": ".csv,.gz,.parquet"}),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        items = list(data) if isinstance(data, list | tuple) else [data]
        items = items or [None]  # nothing chosen: the field's "required" error
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


class EvidenceUploadForm(forms.Form):
    """FOCUS exports and the choices that shape the KPIs."""

    files = MultipleFileField(
        label="FOCUS cost exports",
        help_text="CSV, CSV.gz or Parquet, as your cloud provider exports them. "
        "Choose several files at once if the export is split.",
    )
    tag_keys = forms.CharField(
        label="Allocation tag keys",
        max_length=1000,
        initial="cost-center, team",
        help_text="Separated by commas. A cost counts as allocated when any of "
        "these tags has a value. Keys are case-sensitive, as in the export.",
    )
    months = forms.MultipleChoiceField(
        label="Months to use",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to use every month in the files.",
    )
    eligible_categories = forms.MultipleChoiceField(
        label="Service categories eligible for commitment discounts",
        choices=[(c, c) for c in SERVICE_CATEGORIES],
        initial=["Compute"],
        widget=forms.CheckboxSelectMultiple,
    )
    forecasts = forms.CharField(
        label="Monthly forecasts (optional)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One month per line, for example “2026-01 120000”, to measure "
        "forecast variance.",
    )
    forecast_currency = forms.CharField(
        label="Currency of the forecasts",
        required=False,
        max_length=10,
        help_text="Its ISO code, such as USD; leave empty for the files' main "
        "currency.",
    )

    def __init__(self, *args, max_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_bytes = max_bytes
        self.fields["months"].choices = [(m, m) for m in recent_months()]
        self.helper = _helper()

    def clean_files(self) -> list:
        files = self.cleaned_data["files"]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(f"Upload at most {MAX_FILES} files at once.")
        for item in files:
            if item.size > self.max_bytes:
                raise forms.ValidationError(
                    f"{item.name} is larger than the limit of "
                    f"{self.max_bytes // 1024**2:,} MB per file."
                )
            name = item.name.lower()
            if not name.endswith((".csv", ".csv.gz", ".gz", ".parquet")):
                raise forms.ValidationError(
                    f"{item.name} is not a CSV, CSV.gz or Parquet file."
                )
        return files

    def clean_tag_keys(self) -> tuple[str, ...]:
        keys = [k.strip() for k in self.cleaned_data["tag_keys"].split(",")]
        keys = list(dict.fromkeys(k for k in keys if k))
        if not keys:
            raise forms.ValidationError("Give at least one tag key.")
        bad = [k for k in keys if not TAG_KEY.fullmatch(k)]
        if bad:
            raise forms.ValidationError(
                f"Tag keys use letters, digits, spaces and . : / = + - @ only: "
                f"{', '.join(bad[:3])}."
            )
        return tuple(keys)

    def clean_forecasts(self) -> dict[str, float]:
        forecasts = {}
        for number, line in enumerate(self.cleaned_data["forecasts"].splitlines(), 1):
            if not line.strip():
                continue
            parts = line.replace(",", " ").replace(":", " ").split()
            try:
                month, amount = parts[0], float(parts[1])
            except (IndexError, ValueError):
                raise forms.ValidationError(
                    f"Line {number}: write a month and an amount, such as "
                    "“2026-01 120000”."
                ) from None
            if not MONTH.fullmatch(month) or amount <= 0 or len(parts) > 2:
                raise forms.ValidationError(
                    f"Line {number}: write a month and an amount, such as "
                    "“2026-01 120000”."
                )
            forecasts[month] = amount
        return forecasts

    def clean_forecast_currency(self) -> str:
        code = self.cleaned_data["forecast_currency"].strip().upper()
        if code and not re.fullmatch(r"[A-Z]{3}", code):
            raise forms.ValidationError("Give a three-letter ISO code, such as EUR.")
        return code
