"""The layering rules of ``docs/architecture.md`` ("Commands and routes"), checked on the
source: routes open no transaction of their own, schema modules run no queries, and
the domain's task, job, project and label modules import no circle."""

from __future__ import annotations

import ast
from pathlib import Path

import annotask

PACKAGE = Path(annotask.__file__).parent


def _modules(under: Path) -> dict[str, Path]:
    found = {}
    for path in under.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts).removesuffix(".__init__")
        found[name] = path
    return found


def _imports(path: Path) -> set[str]:
    """Every ``annotask`` module named by an import anywhere in the file (function-level
    imports count: they only hide a circle)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("annotask"):
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("annotask"))
    return names


def test_routes_open_no_transaction() -> None:
    """Routes translate HTTP; transactions are the request's (``Db``) or a domain command's."""
    offenders = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in (PACKAGE / "api").rglob("*.py")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "sessions()" in line
    ]
    assert offenders == []


def test_schema_modules_run_no_queries() -> None:
    for path in (PACKAGE / "api" / "schemas").rglob("*.py"):
        imported = _imports(path)
        text = path.read_text()
        assert "sqlalchemy" not in text, path.name
        assert "db.scalars(" not in text and "db.execute(" not in text, path.name
        assert not any(name.startswith("annotask.db.engine") for name in imported), path.name


def test_domain_entities_import_no_circle() -> None:
    modules = _modules(PACKAGE / "domain")
    graph = {
        name: {dep for dep in _imports(path) if dep in modules and dep != name}
        for name, path in modules.items()
    }
    watched = {
        name
        for name in modules
        if name.split(".")[2:3] in (["jobs"], ["projects"], ["tasks"], ["labels"])
    }

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            current = todo.pop()
            for nxt in graph[current]:
                if nxt == goal:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    circles = sorted((name, dep) for name in watched for dep in graph[name] if reaches(dep, name))
    assert circles == []
