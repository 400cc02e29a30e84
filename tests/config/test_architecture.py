"""The apps are pipeline stages that only look down, read from their imports.

Stages, lowest first: the ground (dallosh: vocabulary, permissions, database and bulk
helpers, access, announcements), ingestion, tickets, analysis, dashboard. A stage may import
the stages below it, never one above: upward effects are announced (dallosh/announce.py)
and the stages above subscribe in their apps' ready(). The wiring (config/: URL confs,
ASGI/WSGI, settings, the admin site, the embedded default's launcher and the demo's
commands) sits on top and may import every stage; no stage imports it. Imports inside
functions count too. The layers are the folders: every package at the top of the project
is a stage or the wiring.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_servers

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dallosh", "ingestion", "tickets", "analysis", "dashboard")  # the pipeline's order, lowest first
WIRING = "config"
NOT_SHIPPED = {"tests", "bench", "scripts"}  # code beside the product, free to import any of it
# Imports that stay inside a function on purpose (a heavy module kept out of web processes).
LAZY_ON_PURPOSE = {("analysis.chain", "analysis.local_model"), ("analysis.drafts.services", "analysis"),
                   ("config.embedded", "analysis")}


def test_every_package_is_a_stage_or_the_wiring():
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - NOT_SHIPPED
    assert packages == {*STAGES, WIRING}


def modules():
    for stage in (*STAGES, WIRING):
        for path in sorted((ROOT / stage).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            yield name, ast.parse(path.read_text(encoding="utf-8"))


def imports(tree: ast.AST):
    """(imported module, line, inside a function) for each import of a project module."""
    inside = {id(node) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
              for node in ast.walk(fn)}
    for node in ast.walk(tree):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                 [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else [])
        for name in names:
            if name.split(".")[0] in (*STAGES, WIRING):
                yield name, node.lineno, id(node) in inside


def is_wiring(module: str) -> bool:
    return module.split(".")[0] == WIRING


def stage_of(module: str) -> int:
    """Its layer: the stages in the pipeline's order, the wiring above them all."""
    return len(STAGES) if is_wiring(module) else STAGES.index(module.split(".")[0])


def test_no_stage_imports_a_stage_above_it():
    upward = [f"{module}:{line} imports {target}" for module, tree in modules() if not is_wiring(module)
              for target, line, _ in imports(tree) if stage_of(target) > stage_of(module)]
    assert upward == []


def test_no_stage_imports_the_wiring_above_them_all():
    wiring = [f"{module}:{line} imports {target}" for module, tree in modules() if not is_wiring(module)
              for target, line, _ in imports(tree) if is_wiring(target)]
    assert wiring == []


def test_no_import_hides_inside_a_function_to_dodge_a_cycle():
    """Apps' ready() connects receivers (Django's idiom); anything else imports at the top."""
    hidden = []
    for module, tree in modules():
        ready = {id(node) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef) and fn.name == "ready"
                 for node in ast.walk(fn)}
        hidden += [f"{module}:{line} imports {target}" for target, line, inside in imports(tree)
                   if inside and (module, target) not in LAZY_ON_PURPOSE
                   and not any(id(n) in ready for n in ast.walk(tree) if getattr(n, "lineno", None) == line)]
    assert hidden == []


def test_the_modules_import_each_other_without_a_circle():
    names = dict(modules())
    graph = {module: {target for target, _, _ in imports(tree) if target in names and target != module}
             for module, tree in names.items()}
    graph = {module: targets | {t.rsplit(".", 1)[0] for t in targets if t.rsplit(".", 1)[0] in names}
             for module, targets in graph.items()}
    circles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circles.append([*path[path.index(module):], module])
            return
        if module in done:
            return
        for target in sorted(graph.get(module, ())):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert circles == []


# Collections every stage reads, each owned by its stage's store: no other module queries them.
STORES = {"Ticket": "tickets.store", "Tweet": "ingestion.store"}


def test_only_their_stores_touch_the_tickets_and_the_tweets():
    """tickets/store.py owns the tickets, ingestion/store.py the tweets: every other module
    reads and writes them through their named projections and functions, never the raw
    collection (nor a mongoengine query on it)."""
    raw = [f"{module}:{node.lineno} {node.value.id}.{node.attr}" for module, tree in modules()
           for node in ast.walk(tree)
           if isinstance(node, ast.Attribute) and node.attr in ("_get_collection", "objects")
           and isinstance(node.value, ast.Name) and node.value.id in STORES and module != STORES[node.value.id]]
    assert raw == []


def test_each_collection_is_reached_raw_from_one_module_of_its_stage():
    """A collection's raw calls (find, update, aggregate: its queries, indexes and
    compare-and-sets) live in one module, its owner: its stage's store, or the single
    module that is the concept (leases, rates, provider health, the queue directory, the
    alerts). Every other module calls that owner's named functions."""
    reached: dict[str, set[str]] = {}
    stage: dict[str, str] = {}  # each class defined in the project: its stage
    for module, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                stage[node.name] = module.split(".")[0]
            elif (isinstance(node, ast.Attribute) and node.attr == "_get_collection"
                  and isinstance(node.value, ast.Name)):
                reached.setdefault(node.value.id, set()).add(module)
    shared = {name: sorted(owners) for name, owners in reached.items()
              if len(owners) > 1 or any(owner.split(".")[0] != stage.get(name) for owner in owners)}
    assert shared == {}


# The settings read the environment; Django's bootstrap names its settings module (and the
# embedded launcher its mode); dallosh.processes tells native libraries their OpenMP knobs.
ENVIRONMENT_READERS = {"config.settings", "dallosh.processes"}
BOOTSTRAP_VARIABLES = {"DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG"}


def _is_os_environment(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")
            and isinstance(node.value, ast.Name) and node.value.id == "os")


def test_the_environment_is_read_by_the_settings_alone():
    """Every other module reads django.conf.settings: one place says what can be configured."""
    found = []
    for module, tree in modules():
        if module in ENVIRONMENT_READERS:
            continue
        bootstrap = {id(call.func.value) for call in ast.walk(tree)
                     if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                     and call.func.attr == "setdefault" and _is_os_environment(call.func.value)
                     and call.args and isinstance(call.args[0], ast.Constant)
                     and call.args[0].value in BOOTSTRAP_VARIABLES}
        found += [f"{module}:{node.lineno}" for node in ast.walk(tree)
                  if _is_os_environment(node) and id(node) not in bootstrap]
    assert found == []


def test_dallosh_settings_are_read_as_typed_attributes():
    """settings.DALLOSH_<CONCERN> are dallosh.conf objects: a key read by subscript would be a
    second, untyped spelling of a name."""
    subscripted = [f"{module}:{node.lineno} {node.value.attr}" for module, tree in modules() for node in ast.walk(tree)
                   if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                   and (node.value.attr.startswith("DALLOSH") or node.value.attr == "EMBEDDED")]
    assert subscripted == []


def _named_literals(tree: ast.AST, *, actions: set[str], statuses: set[str]) -> list[int]:
    """Lines that spell an audit action (action="claimed") or a ticket status ("resolved"
    compared, passed as status=, or set as a "status") as a bare string."""
    def literal(node: ast.AST | None, names: set[str]) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and ((node.arg == "action" and literal(node.value, actions))
                                              or (node.arg == "status" and literal(node.value, statuses))):
            lines.append(node.value.lineno)
        elif isinstance(node, ast.Compare) and any(literal(part, statuses)
                                                   for part in [node.left, *node.comparators]):
            lines.append(node.lineno)
        elif isinstance(node, ast.Dict):
            lines += [value.lineno for key, value in zip(node.keys, node.values, strict=True)
                      if literal(key, {"status"}) and literal(value, statuses)]
    return lines


def test_audit_actions_and_statuses_are_spelled_by_their_enums_alone():
    """An audit action is a tickets.audit.AuditAction and a status a TicketStatus: a bare
    "resolved" elsewhere is a typo waiting to happen (it would read as the fallback)."""
    from tickets.audit import AuditAction
    from tickets.models import TicketStatus

    actions, statuses = {a.value for a in AuditAction}, set(TicketStatus.CHOICES)
    spelled = [f"{module}:{line}" for module, tree in modules() if module not in {"tickets.audit", "tickets.models"}
               for line in _named_literals(tree, actions=actions, statuses=statuses)]
    assert spelled == []


WEB = ("django.http", "django.shortcuts", "rest_framework")


def test_services_and_selectors_know_nothing_of_http():
    """They raise domain errors (dallosh/errors.py), mapped to HTTP once for pages and API."""
    web = [f"{module}:{node.lineno} imports {name}" for module, tree in modules()
           if module.rsplit(".", 1)[-1] in {"services", "selectors", "store"}
           for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
           for name in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""])
           if name.startswith(WEB)]
    assert web == []


def test_announcements_and_live_events_have_one_home_each():
    """Signals are sent by dallosh.announce alone (one failure policy), and the Channels
    layer is written to by dallosh.live alone (group names, event types, best effort)."""
    homes = {"send": "dallosh.announce", "send_robust": "dallosh.announce", "group_send": "dallosh.live",
             "get_channel_layer": "dallosh.live"}
    elsewhere = [f"{module}:{node.lineno} {name}" for module, tree in modules() for node in ast.walk(tree)
                 for name in [node.func.attr if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                              else node.func.id if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                              else None]
                 if name in homes and module != homes[name] and is_signal_or_layer_call(node)]
    assert elsewhere == []


def is_signal_or_layer_call(call: ast.Call) -> bool:
    """A Django signal is sent with its sender named (`send(sender=…)`); a socket's or an IMAP
    session's `send(data)` is no announcement."""
    name = call.func.attr if isinstance(call.func, ast.Attribute) else call.func.id
    return name not in ("send", "send_robust") or any(keyword.arg == "sender" for keyword in call.keywords)


def test_a_stage_reads_and_writes_only_its_own_collections():
    """Another stage's documents are read through that stage's selectors and written through
    its services: a raw query across stages ties one to the other's storage."""
    from django.apps import apps
    from mongoengine.base.common import _document_registry

    owners = {name: document.__module__.split(".")[0] for name, document in _document_registry.items()}
    owners |= {model.__name__: model.__module__.split(".")[0] for model in apps.get_models()
               if model.__module__.split(".")[0] in STAGES}
    crossing = [f"{module}:{node.lineno} {node.value.id}.{node.attr}" for module, tree in modules()
                if not is_wiring(module) for node in ast.walk(tree)
                if isinstance(node, ast.Attribute) and node.attr in ("objects", "_get_collection")
                and isinstance(node.value, ast.Name) and owners.get(node.value.id, module.split(".")[0])
                != module.split(".")[0]]
    assert crossing == []



THIN = {"__init__", "apps", "models", "urls", "admin", "wsgi", "asgi", "settings"}  # data and wiring, no logic


def test_every_module_with_logic_has_its_own_test_file():
    """tests/<app>/test_<module>.py (or tests/<app>/<package>/test_<module>.py) for every module
    with a function in it: data and wiring modules (THIN) and commands aside."""
    from_here = []
    for module, tree in modules():
        parts = module.split(".")
        if parts[-1] in THIN or "management" in parts or not any(
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) for node in ast.walk(tree)):
            continue
        mirrored = any((ROOT / "tests" / folder / f"test_{parts[-1]}.py").is_file()
                       for folder in {parts[0], "/".join(parts[:-1])})
        if not mirrored:
            from_here.append(f"{module}: no tests/{'/'.join(parts[:-1])}/test_{parts[-1]}.py")
    assert from_here == [], "a module with logic comes with its own test file"
