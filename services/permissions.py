"""THE permission module: every "may this person do that?" is answered here.

`can(user, action, obj)` combines the role × action matrix with scope (a manager's own
stations, a congress staff member's region and the regions below it, a unit's own
concerns). Views call `require()`; templates ask `can()` to decide which buttons to show.
"""

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from models import Concern, Duty, Region, Representative, Station, User, manager_station
from models.enums import Role

ANONYMOUS = "anonymous"
REP, MGR, STAFF, UNIT, ADMIN = (
    Role.REPRESENTATIVE,
    Role.STATION_MANAGER,
    Role.CONGRESS_STAFF,
    Role.UNIT_HANDLER,
    Role.ADMIN,
)


class PermissionDenied(Exception):
    """The signed-in user may not do this. Views answer 403 (anonymous: the login page)."""

    def __init__(self, action: str):
        super().__init__(action)
        self.action = action


def role_of(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return ANONYMOUS
    return user.role


# --- scope -----------------------------------------------------------------------------


def in_region(user: User, station: Station) -> bool:
    """A congress staff member's region covers the station's region or an ancestor of it."""
    return user.region_id is not None and any(r.id == user.region_id for r in station.region.path())


def manages(user: User, station: Station) -> bool:
    return any(s.id == station.id for s in user.managed_stations)


def oversees_station(user: User, station: Station) -> bool:
    """Who looks after a station: its managers, congress staff above it, admins."""
    if user.role == ADMIN:
        return True
    if user.role == MGR:
        return manages(user, station)
    if user.role == STAFF:
        return in_region(user, station)
    return False


def _own_rep(user: User) -> Representative | None:
    return user.representative if user.role == REP else None


def _station_of(obj) -> Station | None:
    if isinstance(obj, Station):
        return obj
    if isinstance(obj, (Duty, Concern)):
        return obj.station
    return None


# --- rules: action → (roles allowed, scope check) --------------------------------------

Rule = tuple[frozenset[str], Callable[[User, object], bool] | None]


def _oversees(user, obj) -> bool:
    station = _station_of(obj)
    return station is not None and oversees_station(user, station)


def _own_duty(user, obj) -> bool:
    rep = _own_rep(user)
    return rep is not None and isinstance(obj, Duty) and obj.representative_id == rep.id


def _own_or_oversees_rep(user, obj) -> bool:
    """A representative reads their own file; overseers read the files of the
    representatives of their stations."""
    if not isinstance(obj, Representative):
        return False
    if user.role == REP:
        return user.representative is not None and user.representative.id == obj.id
    return user.role == ADMIN or any(oversees_station(user, s) for s in obj.stations)


def _serves(user, concern: Concern) -> bool:
    """A representative serves at the concern's station, or it was assigned to them."""
    rep = _own_rep(user)
    if rep is None:
        return False
    return concern.assigned_rep_id == rep.id or any(s.id == concern.station_id for s in rep.stations)


def _assigned(user, concern: Concern) -> bool:
    rep = _own_rep(user)
    return rep is not None and concern.assigned_rep_id == rep.id


def _own_unit(user, concern: Concern) -> bool:
    return user.role == UNIT and user.unit_id is not None and concern.unit_id == user.unit_id


def _concern_rule(*, rep=None, unit: bool = False, overseers=(MGR, STAFF)):
    """Scope for an action on a concern: representatives by `rep` (_serves or _assigned),
    the unit it was dispatched to when `unit`, and the station's overseers in `overseers`
    (MGR: its managers; STAFF: congress staff above it; ADMIN: everyone)."""

    def scope(user, obj) -> bool:
        if not isinstance(obj, Concern):
            return False
        if user.role == REP:
            return rep is not None and rep(user, obj)
        if user.role == UNIT:
            return unit and _own_unit(user, obj)
        return user.role in overseers and oversees_station(user, obj.station)

    roles = set(overseers) | ({REP} if rep else set()) | ({UNIT} if unit else set())
    return frozenset(roles), scope


def _active_station(_user, obj) -> bool:
    return isinstance(obj, Station) and obj.is_active


def _any(_user, _obj) -> bool:
    return True


RULES: dict[str, Rule] = {
    # Residents
    "station.view": (frozenset({ANONYMOUS, REP, MGR, STAFF, UNIT, ADMIN}), _active_station),
    "concern.file": (frozenset({ANONYMOUS, REP, MGR, STAFF, UNIT, ADMIN}), _active_station),
    # Representatives on duty
    "duty.check_in": (frozenset({REP}), _active_station),
    "duty.check_out": (frozenset({REP}), _own_duty),
    "duty.view_file": (frozenset({REP, MGR, STAFF, ADMIN}), _own_or_oversees_rep),
    # Station management
    "manage.home": (frozenset({MGR, STAFF, ADMIN}), None),
    "duty.review": (frozenset({MGR, STAFF, ADMIN}), _oversees),
    "roster.manage": (frozenset({MGR, STAFF, ADMIN}), _oversees),
    "attendance.view": (frozenset({MGR, STAFF, ADMIN}), _oversees),
    "attendance.export": (frozenset({MGR, STAFF, ADMIN}), _oversees),
    "kiosk.display": (frozenset({MGR, ADMIN}), _oversees),
    "station.print_poster": (frozenset({MGR, STAFF, ADMIN}), _oversees),
    # The closed loop (六单制). Which status allows which action is services.concern_flow's
    # table; here is who may act on which concern.
    "concern.inbox": (frozenset({REP, MGR, STAFF, UNIT, ADMIN}), None),
    "concern.view": _concern_rule(rep=_serves, unit=True, overseers=(MGR, STAFF, ADMIN)),
    # Full contact details: the people who call the resident back. Every look is logged.
    "concern.view_contact": _concern_rule(rep=_assigned, unit=True, overseers=(MGR,)),
    "concern.accept": _concern_rule(rep=_serves),
    "concern.reject": _concern_rule(),
    "concern.merge": _concern_rule(),
    "concern.dispatch": _concern_rule(overseers=(STAFF,)),
    "concern.resolve": _concern_rule(rep=_assigned, overseers=(MGR,)),
    "concern.reply": _concern_rule(unit=True, overseers=()),
    "concern.return": _concern_rule(unit=True, overseers=()),
    "concern.confirm": _concern_rule(rep=_assigned, overseers=(MGR,)),
    "concern.send_back": _concern_rule(rep=_assigned),
    "concern.note": _concern_rule(rep=_serves, unit=True),
    "concern.recategorize": _concern_rule(rep=_assigned, overseers=(MGR, STAFF, ADMIN)),
    "concern.export": (frozenset({MGR, STAFF, ADMIN}), None),
    "figures.view": (frozenset({MGR, STAFF, UNIT, ADMIN}), None),
    "calendar.manage": (frozenset({ADMIN}), None),
    # Accounts
    "account.change_password": (frozenset({REP, MGR, STAFF, UNIT, ADMIN}), _any),
    "user.manage": (frozenset({ADMIN}), _any),
}

ACTIONS = tuple(RULES)


def region_subtree(region_id: int):
    """The ids of a region and every region below it (a recursive query)."""
    tree = sa.select(Region.id).where(Region.id == region_id).cte("region_tree", recursive=True)
    child = aliased(Region)
    tree = tree.union_all(sa.select(child.id).where(child.parent_id == tree.c.id))
    return sa.select(tree.c.id)


def concern_scope(user) -> sa.ColumnElement[bool]:
    """The SQL twin of "concern.view": which concerns this user's inbox holds."""
    role = role_of(user)
    if role == ADMIN:
        return sa.true()
    if role == MGR:
        return Concern.station_id.in_(
            sa.select(manager_station.c.station_id).where(manager_station.c.user_id == user.id)
        )
    if role == STAFF and user.region_id is not None:
        return Concern.station_id.in_(
            sa.select(Station.id).where(Station.region_id.in_(region_subtree(user.region_id)))
        )
    if role == UNIT and user.unit_id is not None:
        return Concern.unit_id == user.unit_id
    if role == REP and user.representative is not None:
        rep = user.representative
        return sa.or_(Concern.assigned_rep_id == rep.id, Concern.station_id.in_([s.id for s in rep.stations]))
    return sa.false()


def can(user, action: str, obj=None) -> bool:
    roles, scope = RULES[action]  # an unknown action is a programming error: KeyError
    role = role_of(user)
    if role not in roles:
        return False
    if scope is None:
        return True
    return scope(user, obj)


def require(user, action: str, obj=None) -> None:
    if not can(user, action, obj):
        raise PermissionDenied(action)
