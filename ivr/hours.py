"""Business hours of an `hours` node (R5: one number, 7x24 by default, adjustable hours).

Pure and deterministic: nothing here reads the clock; the caller passes `now`, an aware datetime.
Hours are wall-clock times in the node's time zone (`HoursNode.timezone`), so they follow that
zone's daylight-saving changes: "08:00-20:00" means 08:00 to 20:00 local time on every day, whether
that day has 23, 24 or 25 hours.

- `weekly is None`: open 7x24 (the R5 default).
- otherwise a weekday missing from `weekly` is closed all day; a range "HH:MM-HH:MM" includes its
  start minute and excludes its end; an end of "24:00" means the end of the day.
- `holidays` are closed all day, whatever `weekly` says (dates in the node's zone).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from ivr.menu import HoursNode

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# How far `next_opening` looks ahead.
LOOKAHEAD = timedelta(days=14)
# Zone offsets are sampled this often to find DST changes; no zone changes twice within it.
_SAMPLE = timedelta(hours=1)

# A range: its start, and its end (None: the end of the day, "24:00").
Range = tuple[time, time | None]
_ALL_DAY: tuple[Range, ...] = ((time(0, 0), None),)


def is_open(node: HoursNode, now: datetime) -> bool:
    """R5: whether the line is open at `now` (aware), judged by the wall clock in the node's zone.

    Raises ValueError if `now` is naive: a time without a zone cannot be judged.
    """
    _require_aware(now)
    local = now.astimezone(_zone(node))
    if local.date() in node.holidays:
        return False
    wall = local.time()  # naive: the wall-clock time of day
    return any(_contains(r, wall) for r in _ranges(node, local.date()))


def next_opening(node: HoursNode, now: datetime) -> datetime | None:
    """R5: the next moment the line opens, to tell callers when to call back.

    `now` itself (in the node's zone) if the line is open now; else the first later moment it is
    open, within `LOOKAHEAD` (14 days) of `now`; None if it stays closed all that time. The answer
    is an aware datetime in the node's zone. Raises ValueError if `now` is naive.

    The open/closed state only changes where the wall clock reaches a range start or where the
    zone's offset changes (DST), so those moments are the only candidates to check. A start that
    falls in a DST gap (02:30 on a spring-forward night) opens at the change itself (03:00).
    """
    _require_aware(now)
    zone = _zone(node)
    if is_open(node, now):
        return now.astimezone(zone)
    start = now.astimezone(timezone.utc)
    end = start + LOOKAHEAD
    candidates = _range_starts(node, zone, start, end) | _offset_changes(zone, start, end)
    for moment in sorted(t for t in candidates if start < t <= end):
        if is_open(node, moment):
            return moment.astimezone(zone)
    return None


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"{now!r} has no time zone; hours need an aware datetime")


def _zone(node: HoursNode) -> ZoneInfo:
    return ZoneInfo(node.timezone)


def _ranges(node: HoursNode, day: date) -> tuple[Range, ...]:
    """The opening ranges of a (non-holiday) local date: all day if there is no weekly schedule."""
    if node.weekly is None:
        return _ALL_DAY
    return tuple(_parse_range(r) for r in node.weekly.get(WEEKDAYS[day.weekday()], []))


@lru_cache(maxsize=256)
def _parse_range(text: str) -> Range:
    """'08:00-20:00' -> (08:00, 20:00); an end of '24:00' -> None (the end of the day)."""
    first, last = text.split("-")
    return time.fromisoformat(first), None if last == "24:00" else time.fromisoformat(last)


def _contains(r: Range, wall: time) -> bool:
    start, end = r
    return start <= wall and (end is None or wall < end)


def _range_starts(node: HoursNode, zone: ZoneInfo, start: datetime,
                  end: datetime) -> set[datetime]:
    """The UTC moments the wall clock shows a range start, on local dates around [start, end].

    A wall time shown twice (DST fall-back) gives both moments; one skipped (spring-forward gap)
    gives none, the offset change covers it.
    """
    first = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    moments: set[datetime] = set()
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        for range_start, _ in _ranges(node, day):
            moments |= _moments_showing(datetime.combine(day, range_start), zone)
    return moments


def _moments_showing(wall: datetime, zone: ZoneInfo) -> set[datetime]:
    """The UTC moments (0, 1 or 2) at which the zone's clock shows the naive wall time `wall`."""
    moments = set()
    for fold in (0, 1):
        moment = wall.replace(tzinfo=zone, fold=fold).astimezone(timezone.utc)
        if moment.astimezone(zone).replace(tzinfo=None) == wall:
            moments.add(moment)
    return moments


def _offset_changes(zone: ZoneInfo, start: datetime, end: datetime) -> set[datetime]:
    """The UTC moments in [start, end + _SAMPLE] at which the zone's UTC offset changes (DST)."""
    changes: set[datetime] = set()
    before = start
    while before < end:
        after = before + _SAMPLE
        if _offset(zone, before) != _offset(zone, after):
            changes.add(_first_second_with_offset_of(zone, before, after))
        before = after
    return changes


def _offset(zone: ZoneInfo, moment: datetime) -> timedelta | None:
    return moment.astimezone(zone).utcoffset()


def _first_second_with_offset_of(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """Bisect (to the second: zone changes fall on whole seconds) for when `after`'s offset begins."""
    lo, hi = int(before.timestamp()), int(after.timestamp())  # whole seconds in UTC
    target = _offset(zone, after)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset(zone, datetime.fromtimestamp(mid, timezone.utc)) == target:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, timezone.utc)
