"""ViewerFunction: the web viewer, a page that reads the API from the reader's browser. This route has
no authorizer, so it serves only the static page, its script and style, and the sign-in settings the
script needs (an OIDC public client's: nothing secret); never task data."""

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlsplit

from pydantic import BaseModel

from tasklogs_core.adapters.settings import ViewerSettings, get_viewer_settings
from tasklogs_core.domain.errors import PageNotFound

CONTENT_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
CONFIG = "config.json"


class ViewerSignIn(BaseModel):
    """`/viewer/config.json`: what the page needs to sign people in (the viewer's own, not part of Coder's API)."""

    client_id: str
    authorization_endpoint: str
    token_endpoint: str
    logout_endpoint: str  # empty: signing out forgets the token in the tab only
    revocation_endpoint: str  # empty: signing out leaves the refresh token valid at the provider
    scope: str
    token: str  # which token of the provider's answer to send: id_token or access_token


@dataclass(frozen=True)
class ViewerFile:
    body: str
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200


def serve_viewer(name: str, static_dir: Path, settings: ViewerSettings | None = None) -> ViewerFile:
    """One of the viewer's files by name (`index.html` for the page itself). Any other name without a
    dot is a task's: `/viewer/<task>` is a 302 to the page showing it (task names never hold a dot, so
    a file the viewer lacks stays a 404)."""
    settings = settings or get_viewer_settings()
    if name == CONFIG:
        body, content_type = _sign_in(settings).model_dump_json(), "application/json"
    elif name in CONTENT_TYPES:
        body, content_type = _static(static_dir / name), CONTENT_TYPES[name]
    elif name and "." not in name:
        location = f"/viewer#/tasks/{quote(name, safe='')}"
        return ViewerFile("", "text/plain; charset=utf-8", {**security_headers(settings), "Location": location}, 302)
    else:
        raise PageNotFound(name)
    return ViewerFile(body, content_type, security_headers(settings))


def viewer_security_headers() -> dict[str, str]:
    """The headers every viewer answer carries, its errors included."""
    return security_headers(get_viewer_settings())


def security_headers(settings: ViewerSettings) -> dict[str, str]:
    """Scripts and styles from this origin only (none inline, none from third-party hosts); API calls
    to this origin, and the token and revocation requests to the identity provider's; never framed; no
    Referer, so a sign-in code never leaves in one."""
    origins = (_origin(settings.oidc_token_endpoint), _origin(settings.oidc_revocation_endpoint))
    connect = " ".join(["'self'", *sorted({origin for origin in origins if origin})])
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-cache",
    }


def _sign_in(settings: ViewerSettings) -> ViewerSignIn:
    return ViewerSignIn(
        client_id=settings.oidc_client_id,
        authorization_endpoint=settings.oidc_authorization_endpoint,
        token_endpoint=settings.oidc_token_endpoint,
        logout_endpoint=settings.oidc_logout_endpoint,
        revocation_endpoint=settings.oidc_revocation_endpoint,
        scope=settings.oidc_scopes,
        token=settings.oidc_token,
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else ""


@cache
def _static(path: Path) -> str:
    return path.read_text(encoding="utf-8")
