"""The PDF engine: WeasyPrint with the app's fonts, styles and a safe fetcher.

Knows nothing of what a report says: it lays out HTML that only loads the
app's own static files. Only render processes import it (`pdf.html_to_pdf`):
web processes and workers never load WeasyPrint.
"""

import mimetypes
import re
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


def weasyprint_pdf(html: str, *, extra_css: str = "") -> bytes:
    """Lay out HTML and write it as PDF (WeasyPrint's work, in this process).

    Runs in a render process of its own (`pdf.html_to_pdf`), once: the font
    configuration and the parsed styles live and die with it.
    """
    fonts = FontConfiguration()
    document = HTML(
        string=without_block_spacing(html),
        base_url=static_base_url(),
        url_fetcher=StaticOnlyURLFetcher(),
    ).render(font_config=fonts, stylesheets=[report_stylesheet(fonts, extra_css)])
    return document.write_pdf()


def report_stylesheet(fonts: FontConfiguration, extra_css: str = "") -> CSS:
    """Return the report's print styles, their @font-face fonts in `fonts`."""
    path = Path(settings.STATICFILES_DIRS[0]) / "report" / "report.css"
    return CSS(
        string=path.read_text() + extra_css,
        base_url=static_base_url() + "report/",
        url_fetcher=StaticOnlyURLFetcher(),
        font_config=fonts,
    )
