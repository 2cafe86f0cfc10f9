"""Simultaneous saves and submits of one response (PostgreSQL row locks)."""

import random
import threading
import time

import pytest
from django.db import connection, connections
from django.test import Client

from assessment.models import (
    Answer,
    Assessment,
    FrameworkVersion,
    Organisation,
    Response,
)
from assessment.responses import response_reopen
from tests.factories import (
    create_assessment,
    start_response,
    survey_page_url,
    survey_url,
)

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks are PostgreSQL's"
    ),
    pytest.mark.django_db(transaction=True),
]

UNDERSTAND = "understand-usage-cost"
ROUNDS = 4
SAVERS = 6
SUBMITTERS = 4
# Submits are quicker than saves: spread them over a save's duration so that
# some land while saves are half done.
SUBMIT_DELAY = 0.08


@pytest.fixture
def participant():
    """A participant with one saved page, ready to submit."""
    organisation = Organisation.objects.create(name="Acme", slug="acme")
    framework = FrameworkVersion.objects.get(slug="2026")
    assessment = create_assessment(
        organisation=organisation, framework=framework, status=Assessment.Status.OPEN
    )
    token, response = start_response(assessment=assessment, persona="engineering")
    questions = list(
        assessment.scoped_capabilities.filter(
            personas=response.persona, capability__domain__slug=UNDERSTAND
        ).values_list("capability_id", flat=True)
    )
    assert Client().post(*_save(token, questions, "before", 1)).status_code == 302
    return token, response, questions


def _save(token: str, questions: list[int], comment: str, value: int):
    data = {"shown": ",".join(map(str, questions)), "go": "stay"}
    for pk in questions:
        data[f"value-{pk}"] = str(value)
        data[f"comment-{pk}"] = comment
    return survey_page_url(token=token, domain=UNDERSTAND), data


def _fire(requests: list[tuple[str, float, str, dict]]) -> dict[str, int]:
    """Send the POSTs from one thread each, all at once; return their statuses."""
    barrier = threading.Barrier(len(requests))
    statuses: dict[str, int] = {}

    def send(name: str, delay: float, path: str, data: dict) -> None:
        try:
            barrier.wait(timeout=30)
            time.sleep(delay)
            statuses[name] = Client().post(path, data).status_code
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=send, args=request) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_one_submit_wins_and_no_save_lands_after_it(participant):
    token, response, questions = participant
    rng = random.Random(14)
    kept = "before"  # the comment of the last save that counted
    for round_ in range(ROUNDS):
        if round_:
            response_reopen(response=response)
        saves = [
            (
                f"save {round_}.{n}",
                0.0,
                *_save(token, questions, f"{round_}.{n}", n % 4),
            )
            for n in range(SAVERS)
        ]
        submits = [
            (
                f"submit {n}",
                rng.uniform(0, SUBMIT_DELAY),
                survey_url(name="survey_review", token=token),
                {},
            )
            for n in range(SUBMITTERS)
        ]
        statuses = _fire(saves + submits)
        assert len(statuses) == SAVERS + SUBMITTERS
        # Every submit lands on the thanks page (replays too); a save is
        # acknowledged (302) or refused as already submitted (200), never a 500.
        assert {s for n, s in statuses.items() if n.startswith("submit")} == {302}
        assert {s for n, s in statuses.items() if n.startswith("save")} <= {200, 302}

        response.refresh_from_db()
        assert response.status == Response.Status.SUBMITTED
        assert response.submit_count == round_ + 1  # replays are not counted
        # No save landed after the submission (a save stamps the response).
        assert response.updated_at == response.submitted_at
        rows = list(
            Answer.objects.filter(response=response).values_list(
                "capability_id", "value", "comment"
            )
        )
        assert sorted(pk for pk, _, _ in rows) == sorted(questions)
        # One acknowledged save's page, whole: never parts of two.
        assert len({(value, comment) for _, value, comment in rows}) == 1
        acknowledged = {
            name.removeprefix("save ")
            for name, status in statuses.items()
            if name.startswith("save") and status == 302
        }
        assert rows[0][2] in (acknowledged or {kept})
        kept = rows[0][2]
