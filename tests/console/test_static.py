"""The console's files: served with the right type, nothing fetched from elsewhere, no gaps."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dispatch.console.router import STATIC

FILES = sorted(p for p in STATIC.rglob("*") if p.is_file())
EXPECTED_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
# XML namespace names are identifiers, never fetched (document.createElementNS needs one).
NAMESPACES = {"http://www.w3.org/2000/svg"}
URL = re.compile(r"""https?://[^\s'"`)<>]*""")


def rel(path: Path) -> str:
    """A static file's URL path below /static/."""
    return path.relative_to(STATIC).as_posix()


def test_the_console_has_its_files() -> None:
    names = {rel(p) for p in FILES}
    for required in ("index.html", "app.js", "style.css", "i18n.js", "live.js", "map.js"):
        assert required in names


@pytest.mark.parametrize("path", FILES, ids=rel)
def test_every_static_file_is_served_with_its_content_type(client: TestClient, path: Path) -> None:
    r = client.get(f"/static/{rel(path)}")
    assert r.status_code == 200
    assert r.content == path.read_bytes()
    expected = EXPECTED_TYPES.get(path.suffix)
    if expected:
        assert r.headers["content-type"].split(";")[0] == expected
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", FILES, ids=rel)
def test_no_static_file_loads_anything_from_another_origin(path: Path) -> None:
    found = set(URL.findall(path.read_text(encoding="utf-8"))) - NAMESPACES
    assert not found, f"{rel(path)} references {sorted(found)} (no CDN: serve it from static/)"


def test_the_page_loads_app_js_as_a_module_and_no_inline_script(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/app.js"></script>' in r.text
    # The CSP allows scripts from 'self' only: every <script> must have a src.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text)
    assert "script-src 'self'" in r.headers["content-security-policy"]


def test_paths_outside_static_are_refused(client: TestClient) -> None:
    assert client.get("/static/../router.py").status_code == 404
    assert client.get("/static/%2e%2e/router.py").status_code == 404
    assert client.get("/static/nope.js").status_code == 404


@pytest.mark.parametrize("path", [p for p in FILES if p.suffix == ".js"], ids=rel)
def test_every_module_import_resolves_to_a_static_file(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for target in re.findall(r"""^\s*import\s[^;]*?from\s+['"]([^'"]+)['"]""", text, re.M | re.S):
        assert target.startswith("./"), f"{rel(path)} imports {target!r}: use a relative path"
        assert (path.parent / target).resolve().is_file(), f"{rel(path)}: {target} is missing"


def test_every_translated_key_exists_in_english_and_hindi() -> None:
    catalogue = (STATIC / "i18n.js").read_text(encoding="utf-8")
    english, hindi = catalogue.split("\n  hi: {", 1)
    used: set[str] = set()
    for path in FILES:
        if path.suffix in (".js", ".html"):
            lines = path.read_text(encoding="utf-8").splitlines()
            text = "\n".join(line for line in lines if not line.lstrip().startswith("//"))
            keys = set(re.findall(r"""\bt\('([\w.]+)'""", text))
            keys |= set(re.findall(r"""data-i18n="([\w.]+)\"""", text))
            if path.parent.name == "ext" and "i18n.add('hi'" in text:
                # An extension brings its own strings: an English and a Hindi table.
                en_part, hi_part = text.split("i18n.add('hi'", 1)
                for key in keys:
                    assert f"'{key}':" in en_part, f"{path.name}: {key} has no English text"
                    assert f"'{key}':" in hi_part, f"{path.name}: {key} has no Hindi text"
                continue
            used |= keys
    for prefix, values in (
        ("status", "new acknowledged dispatched en_route on_scene person_found"),
        ("cat", "suicide_risk self_harm threat_to_others other"),
        ("conn", "live connecting reconnecting offline"),
    ):
        used |= {f"{prefix}.{v}" for v in values.split()}
    assert used
    for key in sorted(used):
        assert f"'{key}':" in english, f"{key} has no English text"
        assert f"'{key}':" in hindi, f"{key} has no Hindi text"
