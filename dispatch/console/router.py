"""The web console: its page, its static files, and the console's configuration endpoint.

No build step: the page loads vanilla JavaScript modules from static/, then every
static/ext/*.js (other domains' console extensions, see docs/live.md).
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel

from dispatch.auth.deps import CurrentUser
from dispatch.deps import SettingsDep

router = APIRouter(tags=["console"])
STATIC = Path(__file__).resolve().parent / "static"
EXT_MARKER = "<!--EXT-->"
NO_CACHE = {"Cache-Control": "no-cache"}
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


class ConsoleConfig(BaseModel):
    """What the console needs to know about the server it talks to."""

    drill_speed: float
    twilio_enabled: bool
    version: str


def extension_scripts() -> list[str]:
    """URLs of the console extensions, in file-name order."""
    folder = STATIC / "ext"
    if not folder.is_dir():
        return []
    return [f"/static/ext/{p.name}" for p in sorted(folder.glob("*.js")) if p.is_file()]


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def index() -> HTMLResponse:
    """The console page, with every extension script after app.js."""
    page = (STATIC / "index.html").read_text(encoding="utf-8")
    tags = "\n".join(
        f'<script type="module" src="{html.escape(src)}"></script>' for src in extension_scripts()
    )
    return HTMLResponse(page.replace(EXT_MARKER, tags), headers=NO_CACHE)


@router.get("/static/{path:path}", include_in_schema=False)
def static_file(path: str) -> FileResponse:
    """A file of the console (no directory listing, nothing outside static/)."""
    target = (STATIC / path).resolve()
    if not target.is_relative_to(STATIC) or not target.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    media_type = MEDIA_TYPES.get(target.suffix.lower(), "application/octet-stream")
    return FileResponse(target, media_type=media_type, headers=NO_CACHE)


@router.get("/api/v1/console/config")
def console_config(settings: SettingsDep, _user: CurrentUser) -> ConsoleConfig:
    """Drill speed (the console shows a DRILL MODE banner when it is not 1), Twilio, version."""
    from dispatch import __version__

    return ConsoleConfig(
        drill_speed=settings.drill_speed,
        twilio_enabled=settings.twilio_enabled,
        version=__version__,
    )
