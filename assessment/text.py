"""Control characters: kept out of what people type, and out of every export.

A control character (U+0000-U+001F, U+007F-U+009F) is invisible on a page but
breaks other software: PostgreSQL refuses U+0000 and spreadsheets refuse the
rest (openpyxl raises IllegalCharacterError). Forms remove them on input;
multi-line text keeps tabs and line breaks. Exports remove any that older
data still holds.
"""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

# Every control character except tab, line feed and carriage return.
CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
LINE_BREAKS = re.compile(r"\r\n?")


def without_controls(value: str) -> str:
    """Return text without control characters other than tab and line breaks."""
    return CONTROLS.sub("", value)


def plain_text(value: str, *, multiline: bool = False) -> str:
    """Return typed text without control characters.

    Multi-line text keeps tabs and line breaks (as \\n); one-line text turns
    them into spaces.
    """
    value = without_controls(LINE_BREAKS.sub("\n", value))
    if not multiline:
        value = value.replace("\t", " ").replace("\n", " ")
    return value


class PlainTextField(forms.CharField):
    """A CharField that removes control characters before validating."""

    def __init__(self, *args, multiline: bool = False, **kwargs):
        self.multiline = multiline
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return plain_text(value, multiline=self.multiline) if value else value


@deconstructible
class ControlCharacterValidator:
    """Refuse control characters (tab and line breaks too, unless multi-line)."""

    def __init__(self, *, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, value) -> None:
        if isinstance(value, str) and plain_text(value, multiline=self.multiline) != (
            LINE_BREAKS.sub("\n", value)
        ):
            raise ValidationError(
                "Remove the invisible control characters (often pasted from "
                "another program).",
                code="control_characters",
            )

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, ControlCharacterValidator)
            and other.multiline == self.multiline
        )
