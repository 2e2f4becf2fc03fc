"""One permission path: whether a user is staff is asked of accounts/permissions.py (or an app's
permissions.py built on it), never read off the user by a view, service, serializer or template."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("lib", "accounts", "licensing", "orders", "portal")
FLAGS = {"is_staff", "is_superuser"}
# Where reading the flag is the point: the permission modules decide with it, the models and the
# admin define and edit it, management commands create demo staff, and a user's own data export
# reports it (a fact about them, not a decision).
ALLOWED = {
    "accounts/permissions.py", "accounts/permissions_vendor.py", "accounts/models.py",
    "accounts/selectors.py:user_personal_data",
}


def _allowed(relative: str, function: str | None) -> bool:
    parts = relative.split("/")
    if {"migrations", "management", "admin"} & set(parts) or parts[-1] in ("admin.py", "permissions.py"):
        return True
    return relative in ALLOWED or f"{relative}:{function}" in ALLOWED


def _flag_reads(relative: str, source: str) -> list[str]:
    """Where the module at `relative` (a path from the project root) reads a staff flag, by function."""
    tree = ast.parse(source, relative)
    function_of = {}  # each flag read -> its innermost function (ast.walk visits outer ones first)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                function_of[inner] = node.name
    found = []
    for node in ast.walk(tree):
        asks_the_permission_module = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
            node.value.id == "permissions")
        if isinstance(node, ast.Attribute) and node.attr in FLAGS and not asks_the_permission_module:
            name = function_of.get(node)
            if not _allowed(relative, name):
                found.append(f"{relative}:{node.lineno} ({name})")
    return sorted(set(found))


def test_no_code_outside_the_permission_modules_reads_the_staff_flags():
    reads = [
        read
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        for read in _flag_reads(path.relative_to(ROOT).as_posix(), path.read_text())
    ]
    assert reads == []


def test_no_template_reads_the_staff_flags():
    reads = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if any(f".{flag}" in line for flag in FLAGS)
    ]
    assert reads == []


def test_the_check_finds_a_view_or_service_that_reads_the_flag_and_spares_the_permission_module():
    source = "def view(request):\n    return request.user.is_superuser\n"
    assert _flag_reads("orders/views/detail.py", source) == ["orders/views/detail.py:2 (view)"]
    assert _flag_reads("accounts/services/roles.py", source) == ["accounts/services/roles.py:2 (view)"]
    assert _flag_reads("accounts/permissions.py", source) == []
