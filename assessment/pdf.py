"""The PDF engine: WeasyPrint with the app's fonts, styles and a safe fetcher.

Knows nothing of what a report says: it lays out HTML that only loads the
app's own static files, in a child process killed at the time limit.
"""

import json
import mimetypes
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse, path2url

# Fetching resources: the app's static files and data: URIs, nothing else
# ---------------------------------------------------------------------------


class URLRefused(ValueError):
    """WeasyPrint asked for a URL the report may not fetch."""


def static_roots() -> list[Path]:
    """Return the folders whose files the report may load (the app's static)."""
    return [Path(folder).resolve() for folder in settings.STATICFILES_DIRS]


class StaticOnlyURLFetcher(URLFetcher):
    """Serve the app's static files and data: URIs; refuse every other URL.

    Participant text reaches the report, so a stray `<img src=http://...>` or
    `file:///etc/passwd` must never be fetched: no network, no redirects, no
    file outside the static folders (symlinks and `..` resolved first).
    """

    def __init__(self, roots: list[Path] | None = None) -> None:
        super().__init__(
            timeout=2, allowed_protocols={"file", "data"}, allow_redirects=False
        )
        self.roots = static_roots() if roots is None else roots

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = self._static_path(url)
            content_type = mimetypes.guess_type(path.name)[0]
            return URLFetcherResponse(
                url,
                body=path.read_bytes(),
                headers={"Content-Type": content_type or "application/octet-stream"},
            )
        raise URLRefused(f"The report may not fetch {url[:200]!r}.")

    def _static_path(self, url: str) -> Path:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise URLRefused(f"The report may not fetch {url[:200]!r}.")
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_file() or not any(path.is_relative_to(r) for r in self.roots):
            raise URLRefused(f"The report may not fetch {url[:200]!r}.")
        return path


def static_base_url() -> str:
    """Return the base URL against which the template's relative links resolve."""
    return path2url(str(Path(settings.STATICFILES_DIRS[0]).resolve())) + "/"


# Whitespace before a block-level tag never shows, but WeasyPrint parses each
# run and builds a box for it that layout then drops: about 3% of a render.
# Whitespace between inline tags (a space between two words) is kept.
BLOCK_SPACING = re.compile(
    r"\s+(?=</?(?:html|head|body|section|div|p|h[1-6]|table|thead|tbody|tr|td|th"
    r"|caption|colgroup|col|ol|ul|li|figure|figcaption|meta|title|style)[\s>])"
)


def without_block_spacing(html: str) -> str:
    """Drop the template's indentation before block-level tags."""
    return BLOCK_SPACING.sub("", html)


class RenderTimeout(Exception):
    """The render went over its time limit and its process was stopped."""


class RenderCrashed(Exception):
    """The render's process failed or died; the message says how."""


def html_to_pdf(
    html: str, *, extra_css: str = "", seconds: float | None = None
) -> bytes:
    """Lay out HTML as PDF in a child process stopped after `seconds`.

    The one entry to the PDF engine: tests that are not about the PDF
    replace this function. Layout cannot be interrupted from within (a
    check between stages lets one stage overrun), so it runs in a process
    of its own (`python -m assessment.pdf_child`), killed at the limit
    (`REPORT_RENDER_SECONDS` by default). A plain new interpreter, not
    multiprocessing: that would import the caller's main script again.
    The child runs `settings.REPORT_PDF_ENGINE` (WeasyPrint,
    `weasyprint_pdf`), named by its dotted path so a test can slow it down.
    """
    if seconds is None:
        seconds = settings.REPORT_RENDER_SECONDS
    job = json.dumps(
        {"engine": settings.REPORT_PDF_ENGINE, "html": html, "extra_css": extra_css}
    )
    child = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
        [sys.executable, "-m", "assessment.pdf_child"],
        cwd=settings.BASE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        out, err = child.communicate(job.encode(), timeout=max(seconds, 0.1))
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise RenderTimeout(f"The render took longer than {seconds:.0f} s.") from None
    if child.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise RenderCrashed(f"exit code {child.returncode}: {message[0][:300]}")
    return out


def weasyprint_pdf(html: str, *, extra_css: str = "") -> bytes:
    """Lay out HTML and write it as PDF (WeasyPrint's work, in this process)."""
    document = HTML(
        string=without_block_spacing(html),
        base_url=static_base_url(),
        url_fetcher=StaticOnlyURLFetcher(),
    ).render(
        font_config=font_configuration(), stylesheets=[report_stylesheet(extra_css)]
    )
    return document.write_pdf()


_fonts = threading.local()


def font_configuration() -> FontConfiguration:
    """Return this thread's WeasyPrint font configuration, made once.

    A new configuration per render leaks about 0.25 MB each time (fontconfig
    and Pango state is never freed), so a long-lived worker reuses one; the
    report's @font-face fonts are registered once. Per thread, because Pango
    font maps are not shared safely between threads.
    """
    if not hasattr(_fonts, "config"):
        _fonts.config = FontConfiguration()
    return _fonts.config


def report_stylesheet(extra_css: str = "") -> CSS:
    """Return the report's print styles, parsed once per thread and file version.

    Parsing report.css on every render costs about 2% of it; the parsed
    sheet goes with this thread's font configuration, where its @font-face
    rules are registered. An edited file (or other extra rules) is parsed
    again.
    """
    path = Path(settings.STATICFILES_DIRS[0]) / "report" / "report.css"
    version = (path, path.stat().st_mtime_ns, extra_css)
    if getattr(_fonts, "stylesheet_version", None) != version:
        _fonts.stylesheet = CSS(
            string=path.read_text() + extra_css,
            base_url=static_base_url() + "report/",
            url_fetcher=StaticOnlyURLFetcher(),
            font_config=font_configuration(),
        )
        _fonts.stylesheet_version = version
    return _fonts.stylesheet
