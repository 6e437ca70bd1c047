"""Starlette stays at the edge: endpoints, the console, the request plumbing of ``loft.kit`` and the application
itself read requests and answer them; services, repositories, delivery and the rest take Loft's own types
(``loft.kit.forms.Form`` or a plain mapping for parameters, no request path: a 404's path is named by the edge,
``loft.errors.TwilioApiError.at``)."""

from __future__ import annotations

import ast
from pathlib import Path

import loft

ROOT = Path(loft.__file__).parent

#: The modules that read HTTP requests or answer them (paths relative to ``loft/``); a folder covers its modules.
EDGE = (
    "app.py", "front.py", "context.py", "proxies.py", "openapi.py", "serving.py",
    "accounts/auth.py", "console/", "metrics/endpoint.py", "metrics/requests.py",
    "kit/endpoint.py", "kit/forms.py", "kit/jsonbody.py", "kit/limits.py", "kit/render.py", "kit/v1.py",
)


def _imports_starlette(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import) and any(alias.name.split(".")[0] == "starlette" for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "starlette":
            return True
    return False


def _at_edge(relative: str) -> bool:
    return relative.endswith("endpoints.py") or any(
        relative.startswith(edge) if edge.endswith("/") else relative == edge for edge in EDGE)


def test_only_the_edge_imports_starlette() -> None:
    modules = sorted(path.relative_to(ROOT).as_posix() for path in ROOT.rglob("*.py"))
    inside = [module for module in modules if not _at_edge(module) and _imports_starlette(ROOT / module)]
    assert inside == []


def test_the_edge_list_names_modules_that_exist() -> None:
    for edge in EDGE:
        assert (ROOT / edge).exists(), edge
    # and the check does find Starlette where it is imported
    assert _imports_starlette(ROOT / "kit" / "forms.py") and _imports_starlette(ROOT / "messages" / "endpoints.py")
