"""Parsing pasted lines / CSV into invitees, and merging them into the list."""

import codecs
from html import unescape

import pytest
from django.urls import reverse

from assessment.invitations import (
    NotTextError,
    decode_upload,
    invitations_import,
    parse_invitees,
)
from tests.factories import create_invitation, respond_to_invitation


@pytest.fixture
def personas(framework):
    return list(framework.personas.all())


def test_it_reads_email_persona_and_business_unit(personas):
    parsed = parse_invitees(
        "Ana@Example.com, Finance, Retail BU\nli@example.com,engineering",
        personas=personas,
    )
    assert parsed.errors == []
    first, second = parsed.invitees
    assert (first.email, first.persona.slug, first.business_unit) == (
        "ana@example.com",
        "finance",
        "Retail BU",
    )
    assert (second.email, second.persona.slug, second.business_unit) == (
        "li@example.com",
        "engineering",
        "",
    )


def test_it_matches_personas_by_slug_or_name_ignoring_case(personas):
    parsed = parse_invitees(
        "a@x.io, FINOPS-PRACTITIONER\nb@x.io, finops practitioner\n"
        "c@x.io, leadership\nd@x.io, Leadership (executives)",
        personas=personas,
    )
    assert parsed.errors == []
    assert [i.persona.slug for i in parsed.invitees] == [
        "finops-practitioner",
        "finops-practitioner",
        "leadership",
        "leadership",
    ]


def test_it_reports_bad_lines_with_their_numbers_and_keeps_good_ones(personas):
    text = (
        "email,persona,business unit\n"  # header, skipped
        "ok@example.com, Finance\n"
        "not-an-email, Finance\n"
        "\n"
        "who@example.com, Astronaut\n"
        "lonely@example.com\n"
        "x@example.com, finance, BU, extra\n"
        "fine@example.com, product, Platform BU\n"
    )
    parsed = parse_invitees(text, personas=personas)
    assert [(e.line, e.text) for e in parsed.errors] == [
        (3, "not-an-email, Finance"),
        (5, "who@example.com, Astronaut"),
        (6, "lonely@example.com"),
        (7, "x@example.com, finance, BU, extra"),
    ]
    assert "not a valid email" in parsed.errors[0].message
    assert "Unknown persona “Astronaut”" in parsed.errors[1].message
    assert "Finance" in parsed.errors[1].message  # lists the valid personas
    assert [i.email for i in parsed.invitees] == [
        "ok@example.com",
        "fine@example.com",
    ]


def test_it_merges_an_address_given_twice_into_its_first_line(personas):
    parsed = parse_invitees(
        "a@x.io, finance\nb@x.io, product\nA@X.IO, engineering", personas=personas
    )
    assert [i.email for i in parsed.invitees] == ["a@x.io", "b@x.io"]
    assert parsed.invitees[0].persona.slug == "finance"
    assert parsed.merged == [3]


def test_it_reads_semicolons_tabs_and_quoted_fields(personas):
    parsed = parse_invitees(
        'a@x.io;finance;"Retail; EU"\nb@x.io;product', personas=personas
    )
    assert parsed.errors == []
    assert parsed.invitees[0].business_unit == "Retail; EU"
    parsed = parse_invitees("a@x.io\tfinance\tOps\n", personas=personas)
    assert parsed.invitees[0].business_unit == "Ops"


@pytest.mark.parametrize("sep", [";", "\t"])
def test_it_reads_semicolons_and_tabs_when_the_unit_is_sometimes_missing(personas, sep):
    text = f"a@x.io{sep}finance{sep}Réseau\nb@x.io{sep}product\nc@x.io{sep}finance"
    parsed = parse_invitees(text, personas=personas)
    assert parsed.errors == []
    assert [(i.email, i.business_unit) for i in parsed.invitees] == [
        ("a@x.io", "Réseau"),
        ("b@x.io", ""),
        ("c@x.io", ""),
    ]


def test_it_refuses_personas_the_assessment_does_not_invite(framework):
    only_finance = list(framework.personas.filter(slug="finance"))
    parsed = parse_invitees("a@x.io, engineering", personas=only_finance)
    assert parsed.invitees == []
    assert parsed.errors[0].line == 1


def test_a_framework_persona_left_out_is_not_called_unknown(framework):
    only_finance = list(framework.personas.filter(slug="finance"))
    parsed = parse_invitees(
        "a@x.io, security\nb@x.io, wizard",
        personas=only_finance,
        catalogue=list(framework.personas.all()),
    )
    security = framework.personas.get(slug="security").name
    left_out, unknown = (error.message for error in parsed.errors)
    assert left_out == (
        f"{security} is not one of this assessment's personas. Add it under "
        "“Personas invited” in the assessment's settings, or use one of: Finance."
    )
    assert unknown == "Unknown persona “wizard”. Use one of: Finance."


def test_it_decodes_excel_csv_files():
    assert decode_upload("\ufeffa@x.io,finance".encode()) == "a@x.io,finance"
    assert decode_upload("zoé@x.io,finance".encode("cp1252")) == "zoé@x.io,finance"


def test_a_stray_quote_is_one_bad_line_not_the_rest_of_the_list(personas):
    parsed = parse_invitees(
        '"a@x.io, finance\nb@x.io, product\nc@x.io, "fin\nd@x.io, engineering',
        personas=personas,
    )
    assert [e.line for e in parsed.errors] == [1, 3]
    assert [i.email for i in parsed.invitees] == ["b@x.io", "d@x.io"]


def test_a_line_beyond_the_csv_field_limit_is_reported_by_number(personas):
    parsed = parse_invitees(
        "a@x.io, finance\nb@x.io, finance, " + "x" * 200_000, personas=personas
    )
    assert [i.email for i in parsed.invitees] == ["a@x.io"]
    (error,) = parsed.errors
    assert error.line == 2
    assert "too long" in error.message


def test_it_decodes_excel_unicode_text_files():
    text = "a@x.io\tfinance\tRéseau\n"
    assert decode_upload(text.encode("utf-16")) == text
    assert decode_upload(codecs.BOM_UTF16_BE + text.encode("utf-16-be")) == text


def test_it_refuses_binary_files():
    with pytest.raises(NotTextError):
        decode_upload(b"PK\x03\x04\x00\x00 a spreadsheet, not a CSV")


def test_importing_merges_addresses_already_invited(assessment, personas):
    create_invitation(assessment=assessment, email="old@x.io", persona="finance")
    started, _ = create_invitation(
        assessment=assessment, email="started@x.io", persona="finance"
    )
    respond_to_invitation(invitation=started, submitted=False)
    parsed = parse_invitees(
        "old@x.io, product, New BU\nstarted@x.io, product\nnew@x.io, finance",
        personas=personas,
    )
    result = invitations_import(assessment=assessment, invitees=parsed.invitees)
    assert (result.added, result.updated, result.unchanged) == (1, 1, 1)
    emails = assessment.invitations.values_list("email", "persona__slug")
    assert sorted(emails) == [
        ("new@x.io", "finance"),
        ("old@x.io", "product"),
        # Started participants keep the persona their answers were routed by.
        ("started@x.io", "finance"),
    ]
    again = invitations_import(assessment=assessment, invitees=parsed.invitees)
    assert again.added == 0
    assert assessment.invitations.count() == 3


def _ten_thousand_lines() -> str:
    """10,000 lines: every 100th has a bad address, every 250th repeats one."""
    personas = ("finance", "engineering", "product", "leadership")
    rows = []
    for n in range(10_000):
        email = f"person{n}@acme.example"
        if n % 100 == 99:
            email = f"person{n}-at-acme"
        elif n % 250 == 0 and n:
            email = "person1@acme.example"
        rows.append(f"{email}, {personas[n % 4]}, Unit {n % 40}")
    return "\n".join(rows)


def test_ten_thousand_lines_import_in_batches_with_their_line_errors(
    client, owner, assessment, django_assert_max_num_queries
):
    started, _ = create_invitation(
        assessment=assessment, email="person2@acme.example", persona="finance"
    )
    respond_to_invitation(invitation=started, submitted=False)
    client.force_login(owner)
    url = reverse("assessment:invitations", args=[assessment.pk])
    # Never a query per line: at most one statement per 100 lines written
    # (SQLite takes at most 999 values per statement, about 110 rows).
    with django_assert_max_num_queries(30 + 10_000 // 100):
        reply = client.post(url, {"lines": _ten_thousand_lines()})
    assert reply.status_code == 200
    html = unescape(reply.content.decode())
    assert assessment.invitations.count() == 1 + 9_860
    assert (
        assessment.invitations.get(email="person9998@acme.example").business_unit
        == "Unit 38"
    )
    # The started participant keeps their persona and unit.
    assert assessment.invitations.get(pk=started.pk).business_unit == ""
    assert "100 lines could not be imported" in html
    assert "Line 100 (<code>person99-at-acme, leadership, Unit 19</code>)" in html
    assert "Line 10000 " in html
    assert "“person9999-at-acme” is not a valid email address." in html
    assert "9,860 participants added; 40 already on the list (merged)." in html
