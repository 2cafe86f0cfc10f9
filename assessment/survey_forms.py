"""Participant input: the landing form and the questionnaire page parser.

The questionnaire page is validated by a small hand-written parser rather
than a Django form: a form of 20-60 radio groups rendered widget by widget
costs 40-60 ms, a plain template loop about 5 ms (issue 4).
"""

from dataclasses import dataclass, field

from django import forms
from django.http import QueryDict

from .models import Answer, Capability, Persona
from .text import PlainTextField, plain_text

COMMENT_MAX = 2000

# What each choice means when a capability has no signs of its own for it.
NOT_STARTED_HINT = "Nothing in place yet, or only one-off efforts by individuals."
DONT_KNOW_HINT = "You cannot tell how this is done here."
NOT_APPLICABLE_HINT = "This does not apply to your organisation."

# Where a questionnaire page's buttons lead; "domain:<slug>" jumps to a page.
GO_CHOICES = {"next", "prev", "later", "review", "more", "stay"}


class ParticipantForm(forms.Form):
    """Confirm who is answering: persona and optional business unit."""

    persona = forms.ModelChoiceField(
        queryset=Persona.objects.none(),
        empty_label=None,
        label="Your role",
        help_text="Questions are chosen for this role. Pick the closest one.",
    )
    business_unit = PlainTextField(
        label="Business unit or team (optional)",
        max_length=120,
        required=False,
        help_text="Lets results be compared between parts of the organisation.",
    )

    def __init__(self, *args, personas, fixed_persona: Persona | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["persona"].queryset = personas
        if fixed_persona is not None:
            # Disabled: the posted value is ignored, the link's persona kept.
            field = self.fields["persona"]
            field.queryset = Persona.objects.filter(pk=fixed_persona.pk)
            field.disabled = True
            field.initial = fixed_persona
            field.help_text = (
                f"This link is for {fixed_persona.name}: the FinOps team chose "
                "the role it asks."
            )

    def clean_business_unit(self) -> str:
        return " ".join(self.cleaned_data["business_unit"].split())


@dataclass
class PageInput:
    """A parsed questionnaire page: what to save, or what to show again."""

    answers: dict[int, tuple[int | None, str]] = field(default_factory=dict)
    # Raw values to show again when the page has errors.
    values: dict[int, str] = field(default_factory=dict)
    comments: dict[int, str] = field(default_factory=dict)
    field_errors: dict[int, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    go: str = "stay"

    @property
    def is_valid(self) -> bool:
        return not self.errors and not self.field_errors


VALID_VALUES = {str(choice) for choice in Answer.Value.values}


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def parse_page(
    data: QueryDict, questions: list[Capability], domain_slugs: set[str]
) -> PageInput:
    """Validate a posted questionnaire page against the questions it shows.

    `shown` (hidden) lists the capability ids the page displayed: only those
    are written, so a question routed to the participant after the page was
    opened is not wiped. An id that is not a question of this page, a value
    outside the scale or an over-long comment is an error, not a 500.
    """
    page = PageInput()
    by_id = {question.pk: question for question in questions}
    shown_raw = [part for part in data.get("shown", "").split(",") if part]
    shown = [_int_or_none(part) for part in shown_raw]
    if not shown or any(pk not in by_id for pk in shown):
        page.errors.append(
            "This page's form was changed or is out of date: it lists questions "
            "that are not on this page. Check your answers below and save again."
        )
    for key in data:
        prefix, _, suffix = key.partition("-")
        if prefix in ("value", "comment") and _int_or_none(suffix) not in by_id:
            page.errors.append(
                f"An answer was sent for an unknown question ({key[:40]}). "
                "Check your answers below and save again."
            )
    for question in questions:
        raw_value = data.get(f"value-{question.pk}", "")
        # Tabs and line breaks stay; other control characters are dropped.
        comment = plain_text(data.get(f"comment-{question.pk}", ""), multiline=True)
        comment = comment.strip()
        page.values[question.pk] = raw_value
        page.comments[question.pk] = comment
        if raw_value and raw_value not in VALID_VALUES:
            page.field_errors[question.pk] = (
                "Choose one of the options: Not started, Crawl, Walk, Run, "
                "Don't know or Not applicable."
            )
        elif len(comment) > COMMENT_MAX:
            page.field_errors[question.pk] = (
                f"Shorten the comment to {COMMENT_MAX:,} characters "
                f"(it has {len(comment):,})."
            )
        elif question.pk in shown:
            value = int(raw_value) if raw_value else None
            page.answers[question.pk] = (value, comment)
    go = data.get("go", "stay")
    if go in GO_CHOICES or (
        go.startswith("domain:") and go.removeprefix("domain:") in domain_slugs
    ):
        page.go = go
    else:
        page.errors.append("Unknown button. Your answers were not saved yet.")
    return page


def posted_extras(data: QueryDict) -> set[int]:
    """Return the "answer more" capability ids posted, dropping non-numbers."""
    ids = {_int_or_none(raw) for raw in data.getlist("capability")}
    return ids - {None}


def parse_extras(data: QueryDict, allowed: set[int]) -> tuple[set[int], str]:
    """Return the chosen "answer more" capability ids, or an error message."""
    chosen = {_int_or_none(raw) for raw in data.getlist("capability")}
    if not chosen <= allowed:
        return set(), (
            "One of the chosen capabilities is not available to add. "
            "Choose again from the list."
        )
    return chosen, ""
