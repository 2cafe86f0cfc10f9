"""Laying out report HTML as PDF, in a render process stopped at a time limit.

Layout cannot be interrupted from within (a check between stages lets one
stage overrun), so each render runs in a process of its own, killed at the
limit. Render processes are forked from multiprocessing's fork server, which
has imported the engine (WeasyPrint, `pdf_engine`) once: a render starts at
once instead of spending most of a second importing it, and web processes
and workers never load WeasyPrint at all. A fork server rather than a plain
fork, because a child forked from a worker would share its database
connection.
"""

import multiprocessing
import os
from multiprocessing.connection import Connection

from django.conf import settings
from django.utils.module_loading import import_string

# What the fork server imports before forking render processes.
ENGINE_MODULES = ["assessment.pdf", "assessment.pdf_engine"]


class RenderTimeout(Exception):
    """The render went over its time limit and its process was stopped."""


class RenderCrashed(Exception):
    """The render failed or its process died; the message says how."""


def html_to_pdf(
    html: str, *, extra_css: str = "", seconds: float | None = None
) -> bytes:
    """Lay out HTML as PDF in a render process stopped after `seconds`.

    The one entry to the PDF engine: tests that are not about the PDF
    replace this function. The render process runs
    `settings.REPORT_PDF_ENGINE` (WeasyPrint, `pdf_engine.weasyprint_pdf`),
    named by its dotted path so a test can slow it down; the limit is
    `REPORT_RENDER_SECONDS` by default.
    """
    if seconds is None:
        seconds = settings.REPORT_RENDER_SECONDS
    renders = _render_processes()
    receiving, sending = renders.Pipe(duplex=False)
    process = renders.Process(
        target=_render,
        args=(sending, settings.REPORT_PDF_ENGINE, html, extra_css),
        name="report-render",
        daemon=True,
    )
    process.start()
    sending.close()  # the render holds the only writing end: its death reads as EOF
    try:
        return _outcome(receiving, process, seconds)
    finally:
        receiving.close()
        if process.is_alive():
            process.kill()
        process.join()


def _render_processes() -> multiprocessing.context.ForkServerContext:
    """Return the fork server's context, the engine preloaded on its start.

    The preload takes effect when the server starts (the first render of
    this process); setting it again later changes nothing.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(ENGINE_MODULES)
    return context


def _outcome(
    receiving: Connection, process: multiprocessing.Process, seconds: float
) -> bytes:
    """Wait for the render's PDF; raise if it is late, fails or dies."""
    if not receiving.poll(max(seconds, 0.1)):
        raise RenderTimeout(f"The render took longer than {seconds:.0f} s.")
    try:
        done, payload = receiving.recv()
    except EOFError:
        process.join()
        raise RenderCrashed(
            f"the render's process died (exit code {process.exitcode})"
        ) from None
    if not done:
        raise RenderCrashed(payload)
    return payload


def _render(sending: Connection, engine: str, html: str, extra_css: str) -> None:
    """Run the engine in the render process; send back the PDF or the error."""
    # A render is background work: web requests on the same machine come
    # first when the CPU is short.
    os.nice(10)
    try:
        outcome = (True, import_string(engine)(html, extra_css=extra_css))
    except Exception as error:  # whatever the engine raises goes back as text
        outcome = (False, f"{type(error).__name__}: {error}"[:300])
    sending.send(outcome)
    sending.close()
