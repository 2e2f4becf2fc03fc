"""`EventAction` lists every action the services record (the event log's type filter offers
exactly these): read from the services' source, so that a new kind of event cannot be recorded
without being listed; and each is written as an `EventAction` constant, never a raw string."""
import ast
from pathlib import Path

from django.conf import settings

from accounts.models import EventAction

SERVICES = ["accounts/services", "licensing/services", "orders/services"]


def service_sources() -> list[str]:
    """The source of each service module: `<app>/services.py`, or every module of the package
    `<app>/services/` once it is split."""
    sources = []
    for name in SERVICES:
        path = Path(settings.BASE_DIR) / name
        paths = sorted(path.glob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
        sources += [module.read_text() for module in paths]
    return sources


def _written(node: ast.AST) -> set[str]:
    """The actions written out as string literals in an expression."""
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _strings(node: ast.AST) -> set[str]:
    """The actions in an expression, written out or as `EventAction.NAME` (`"a.b" if started else
    EventAction.A_C` gives both)."""
    named = {
        EventAction[n.attr].value for n in ast.walk(node)
        if isinstance(n, ast.Attribute) and getattr(n.value, "id", None) == "EventAction"
    }
    return _written(node) | named


def recorded_actions(source: str) -> set[str]:
    """The actions passed to `event_record`: written out at the call, or held by a variable of
    the calling function (assigned there, or a parameter filled in by the function's callers)."""
    return _recorded(source, _strings)


def written_actions(source: str) -> set[str]:
    """The actions passed to `event_record` as raw strings rather than `EventAction` constants."""
    return _recorded(source, _written)


def _recorded(source: str, strings) -> set[str]:
    tree = ast.parse(source)
    functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
    found: set[str] = set()
    for function in functions.values():
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
            if getattr(call.func, "id", None) != "event_record":
                continue
            action = next(k.value for k in call.keywords if k.arg == "action")
            if not isinstance(action, ast.Name):
                found |= strings(action)
                continue
            for assign in (n for n in ast.walk(function) if isinstance(n, ast.Assign)):
                if any(getattr(t, "id", None) == action.id for t in assign.targets):
                    found |= strings(assign.value)
            params = [a.arg for a in function.args.args]
            if action.id in params:
                position = params.index(action.id)
                for caller in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
                    if getattr(caller.func, "id", None) == function.name:
                        args = [*caller.args[position:position + 1], *(k.value for k in caller.keywords if k.arg == action.id)]
                        found |= set().union(*(strings(a) for a in args))
    return found


def test_every_action_the_services_record_is_an_event_action():
    recorded = set().union(*(recorded_actions(source) for source in service_sources()))

    assert recorded - set(EventAction.values) == set()
    assert set(EventAction.values) - recorded == set()  # and nothing listed that is never recorded


def test_services_record_event_action_constants_never_raw_strings():
    written = set().union(*(written_actions(source) for source in service_sources()))

    assert written == set()


def test_actions_in_a_variable_are_followed_to_where_they_are_written():
    assert written_actions(SAMPLE) == {"compliance.shortage_started", "compliance.shortage_cleared",
                                       "smart_account.suspended"}
    assert recorded_actions(SAMPLE) == {
        "compliance.shortage_started", "compliance.shortage_cleared", "smart_account.suspended",
        "smart_account.reinstated", "role.granted"}


SAMPLE = '''
def _announce(started):
    action = "compliance.shortage_started" if started else "compliance.shortage_cleared"
    event_record(smart_account=sa, action=action)

def _status(sa, action):
    event_record(smart_account=sa, action=action)

def suspend(sa):
    return _status(sa, "smart_account.suspended")

def reinstate(sa):
    return _status(sa, EventAction.SMART_ACCOUNT_REINSTATED)

def grant(sa):
    event_record(smart_account=sa, action=EventAction.ROLE_GRANTED)
'''
