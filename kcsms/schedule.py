"""
Smart-charging mathematics of OCPP 1.6, as pure functions: the rules a
ChargingProfile must follow (L{checkProfile}), the composite schedule a
station must follow given the profiles it has installed
(L{compositeSchedule}), and where two composites differ (L{differences}).

Profiles are the OCPP JSON objects (C{csChargingProfiles}); times are aware
datetimes.  Nothing here touches the reactor or the store.

Stacking (OCPP 1.6 §3.13.2): for each purpose, at each instant, the valid
profile with the highest C{stackLevel} whose schedule is running prevails; a
schedule whose C{duration} has ended falls back to a lower stack level.  On a
connector, a running TxProfile prevails over the TxDefaultProfiles, a
TxDefaultProfile of the connector over those of connector 0, and the
ChargePointMaxProfile caps the result.  Connector 0 gives the station-wide
limit: the ChargePointMaxProfile alone.
"""

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeGuard

from kcsms.timestamps import formatTimestamp, parseTimestamp

__all__ = [
    "PURPOSES",
    "RATE_UNITS",
    "DEFAULT_PHASES",
    "ProfileRuleError",
    "checkProfile",
    "PlacedProfile",
    "CompositePeriod",
    "Composite",
    "convert",
    "compositeSchedule",
    "fromCompositeAnswer",
    "Difference",
    "differences",
]

#: ChargingProfilePurposeType.
PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")

#: ChargingRateUnitType: amperes per phase, or watts in total.
RATE_UNITS = ("A", "W")

#: The phases a period uses when it does not say (OCPP 1.6 §7.8).
DEFAULT_PHASES = 3

#: How often a Recurring profile starts again.
RECURRENCES = {"Daily": timedelta(days=1), "Weekly": timedelta(days=7)}

_SECOND = timedelta(seconds=1)


class ProfileRuleError(ValueError):
    """
    A ChargingProfile breaks one of OCPP 1.6's rules.

    @ivar rule: the rule, in a few words.
    """

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule


def _isNumber(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _isTenths(value: Any) -> bool:
    """
    Whether a number has at most one decimal, as C{multipleOf 0.1} wants.
    """
    return _isNumber(value) and math.isclose(value * 10, round(value * 10), abs_tol=1e-9)


def _time(profile: Mapping[str, Any], name: str) -> datetime | None:
    text = profile.get(name)
    if not isinstance(text, str):
        return None
    try:
        return parseTimestamp(text)
    except ValueError:
        return None


def checkProfile(
    connectorId: int,
    profile: Mapping[str, Any],
    runningTransactionId: int | None = None,
    remoteStart: bool = False,
) -> None:
    """
    Check a ChargingProfile against OCPP 1.6's rules.  Fields of the wrong
    type are left to the schema check.

    @param connectorId: where it is to be installed.
    @param runningTransactionId: the transaction running on that connector.
    @param remoteStart: whether it goes in a RemoteStartTransaction.
    @raise ProfileRuleError: for the first rule it breaks.
    """
    purpose = profile.get("chargingProfilePurpose")
    kind = profile.get("chargingProfileKind")
    schedule = profile.get("chargingSchedule")
    schedule = schedule if isinstance(schedule, Mapping) else {}
    stackLevel = profile.get("stackLevel")
    if _isNumber(stackLevel) and stackLevel < 0:
        raise ProfileRuleError("stackLevel must be 0 or more", f"got {stackLevel}")
    if remoteStart:
        if purpose != "TxProfile":
            raise ProfileRuleError(
                "a RemoteStartTransaction profile is a TxProfile", f"got {purpose}"
            )
        if "transactionId" in profile:
            raise ProfileRuleError(
                "a RemoteStartTransaction profile has no transactionId",
                "the transaction does not exist yet",
            )
    elif purpose == "ChargePointMaxProfile" and connectorId != 0:
        raise ProfileRuleError(
            "ChargePointMaxProfile only on connector 0", f"got connector {connectorId}"
        )
    elif purpose == "TxProfile":
        if connectorId == 0:
            raise ProfileRuleError("TxProfile only on a connector above 0", "got connector 0")
        if runningTransactionId is None:
            raise ProfileRuleError(
                "TxProfile only on a connector with a running transaction",
                f"no transaction runs on connector {connectorId}",
            )
        transactionId = profile.get("transactionId", runningTransactionId)
        if transactionId != runningTransactionId:
            raise ProfileRuleError(
                "TxProfile only for the connector's running transaction",
                f"transaction {runningTransactionId} runs, not {transactionId}",
            )
    if "transactionId" in profile and purpose != "TxProfile":
        raise ProfileRuleError("transactionId only with TxProfile", f"got {purpose}")
    if kind in ("Absolute", "Recurring") and "startSchedule" not in schedule:
        raise ProfileRuleError(f"{kind} needs chargingSchedule.startSchedule", "it is missing")
    if kind == "Relative" and "startSchedule" in schedule:
        raise ProfileRuleError(
            "Relative has no startSchedule", "a Relative schedule starts with its transaction"
        )
    if kind == "Recurring" and "recurrencyKind" not in profile:
        raise ProfileRuleError("Recurring needs recurrencyKind", "give Daily or Weekly")
    if kind != "Recurring" and "recurrencyKind" in profile:
        raise ProfileRuleError("recurrencyKind only with Recurring", f"the kind is {kind}")
    validFrom, validTo = _time(profile, "validFrom"), _time(profile, "validTo")
    if validFrom is not None and validTo is not None and validFrom >= validTo:
        raise ProfileRuleError(
            "validFrom must be before validTo", f"{profile['validFrom']} >= {profile['validTo']}"
        )
    _checkSchedule(schedule)


def _checkSchedule(schedule: Mapping[str, Any]) -> None:
    duration = schedule.get("duration")
    if _isNumber(duration) and duration <= 0:
        raise ProfileRuleError("duration must be positive", f"got {duration}")
    minChargingRate = schedule.get("minChargingRate")
    if _isNumber(minChargingRate) and not (minChargingRate >= 0 and _isTenths(minChargingRate)):
        raise ProfileRuleError(
            "minChargingRate is 0 or more with at most one decimal", f"got {minChargingRate}"
        )
    periods = schedule.get("chargingSchedulePeriod")
    if not isinstance(periods, list):
        return
    if not periods:
        raise ProfileRuleError("a schedule has at least one period", "chargingSchedulePeriod is []")
    previous = None
    for index, period in enumerate(periods):
        if not isinstance(period, Mapping):
            continue
        startPeriod, limit = period.get("startPeriod"), period.get("limit")
        phases = period.get("numberPhases")
        if index == 0 and _isNumber(startPeriod) and startPeriod != 0:
            raise ProfileRuleError("the first startPeriod is 0", f"got {startPeriod}")
        if _isNumber(startPeriod) and previous is not None and startPeriod <= previous:
            raise ProfileRuleError(
                "startPeriods increase", f"period {index} starts at {startPeriod} after {previous}"
            )
        previous = startPeriod if _isNumber(startPeriod) else previous
        if _isNumber(limit) and not (limit >= 0 and _isTenths(limit)):
            raise ProfileRuleError(
                "limit is a multiple of 0.1 (at most one decimal), 0 or more",
                f"period {index} has {limit}",
            )
        if _isNumber(phases) and not 1 <= phases <= 3:
            raise ProfileRuleError("numberPhases is 1, 2 or 3", f"period {index} has {phases}")


@dataclass(frozen=True)
class PlacedProfile:
    """
    A ChargingProfile installed on a connector.

    @ivar transactionId: the transaction a TxProfile belongs to (L{None}
        when it awaits the transaction of a RemoteStartTransaction).
    """

    connectorId: int
    profile: Mapping[str, Any]
    transactionId: int | None = None

    @property
    def purpose(self) -> str:
        return self.profile["chargingProfilePurpose"]  # type: ignore[no-any-return]


@dataclass(frozen=True)
class CompositePeriod:
    """
    One period of a composite schedule.

    @ivar limit: in the composite's unit, or L{None} where no profile limits.
    """

    startPeriod: int
    limit: float | None
    numberPhases: int | None = None


@dataclass(frozen=True)
class Composite:
    """
    A composite schedule, as GetCompositeSchedule.conf reports one.

    @ivar duration: seconds from C{scheduleStart} it covers.
    """

    connectorId: int
    scheduleStart: datetime
    duration: int
    chargingRateUnit: str
    periods: tuple[CompositePeriod, ...]
    minChargingRate: float | None = None

    def limitAt(self, offset: float) -> CompositePeriod | None:
        """
        @param offset: seconds after C{scheduleStart}.
        @return: the period in force then, or L{None} outside the schedule.
        """
        found = None
        if 0 <= offset < self.duration:
            for period in self.periods:
                if period.startPeriod <= offset:
                    found = period
        return found

    def toJson(self) -> dict[str, Any]:
        """
        @return: the GetCompositeSchedule.conf payload (C{status Accepted}).
        """
        schedule: dict[str, Any] = {
            "duration": self.duration,
            "chargingRateUnit": self.chargingRateUnit,
            "chargingSchedulePeriod": [
                {
                    "startPeriod": period.startPeriod,
                    "limit": period.limit,
                    **(
                        {} if period.numberPhases is None else {"numberPhases": period.numberPhases}
                    ),
                }
                for period in self.periods
            ],
        }
        if self.minChargingRate is not None:
            schedule["minChargingRate"] = self.minChargingRate
        return {
            "status": "Accepted",
            "connectorId": self.connectorId,
            "scheduleStart": formatTimestamp(self.scheduleStart),
            "chargingSchedule": schedule,
        }


@dataclass(frozen=True)
class _Limit:
    value: float
    unit: str
    numberPhases: int
    minChargingRate: float | None


def convert(value: float, unit: str, numberPhases: int, target: str, voltage: float) -> float:
    """
    Convert a limit between amperes per phase and watts in total.

    @return: C{value} (in C{unit}, over C{numberPhases}) in C{target}.
    """
    if unit == target:
        return value
    if target == "W":
        return value * voltage * numberPhases
    return value / (voltage * numberPhases)


def _tenths(value: float) -> float:
    """
    Round down to one decimal (never above the limit), without float noise.
    """
    return round(math.floor(value * 10 + 1e-6) / 10, 1)


class _Running:
    """
    One placed profile, ready to say its limit at any instant.

    @param anchor: where a Relative schedule starts.
    """

    def __init__(self, placed: PlacedProfile, anchor: datetime) -> None:
        profile = placed.profile
        schedule = profile["chargingSchedule"]
        self.stackLevel: int = profile["stackLevel"]
        self.validFrom = _time(profile, "validFrom")
        self.validTo = _time(profile, "validTo")
        self.relative = profile["chargingProfileKind"] == "Relative"
        self.recurrence = (
            RECURRENCES.get(profile.get("recurrencyKind", ""))
            if profile["chargingProfileKind"] == "Recurring"
            else None
        )
        self.startSchedule = anchor if self.relative else _time(schedule, "startSchedule")
        duration = schedule.get("duration")
        self.duration = None if duration is None else timedelta(seconds=duration)
        self.periods = sorted(schedule["chargingSchedulePeriod"], key=lambda p: p["startPeriod"])
        self.unit: str = schedule["chargingRateUnit"]
        self.minChargingRate = schedule.get("minChargingRate")

    def _startOf(self, at: datetime) -> datetime | None:
        """
        The start of the occurrence of the schedule that covers C{at}.
        """
        if self.startSchedule is None or self.recurrence is None:
            return self.startSchedule
        return self.startSchedule + ((at - self.startSchedule) // self.recurrence) * self.recurrence

    def limitAt(self, at: datetime) -> _Limit | None:
        if (self.validFrom is not None and at < self.validFrom) or (
            self.validTo is not None and at >= self.validTo
        ):
            return None
        start = self._startOf(at)
        if start is None:
            return None
        elapsed = at - start
        if elapsed < timedelta(0) or (self.duration is not None and elapsed >= self.duration):
            return None
        current = None
        for period in self.periods:
            if timedelta(seconds=period["startPeriod"]) <= elapsed:
                current = period
        if current is None:
            return None
        return _Limit(
            current["limit"],
            self.unit,
            current.get("numberPhases", DEFAULT_PHASES),
            self.minChargingRate,
        )

    def boundaries(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """
        Every instant in or around C{[start, end)} where its limit may change.
        """
        for edge in (self.validFrom, self.validTo):
            if edge is not None:
                yield edge
        if self.startSchedule is None:
            return
        occurrences = [self.startSchedule]
        if self.recurrence is not None:
            first, last = self._startOf(start), self._startOf(end)
            assert first is not None and last is not None
            count = (last - first) // self.recurrence
            occurrences = [first + i * self.recurrence for i in range(count + 1)]
        for occurrence in occurrences:
            for period in self.periods:
                yield occurrence + timedelta(seconds=period["startPeriod"])
            if self.duration is not None:
                yield occurrence + self.duration


def _prevailing(stack: Sequence[_Running], at: datetime) -> _Limit | None:
    """
    @param stack: profiles of one purpose, highest stackLevel first.
    """
    for running in stack:
        limit = running.limitAt(at)
        if limit is not None:
            return limit
    return None


def compositeSchedule(
    profiles: Iterable[PlacedProfile],
    connectorId: int,
    start: datetime,
    duration: int,
    chargingRateUnit: str,
    voltage: float,
    transaction: tuple[int, datetime] | None = None,
) -> Composite:
    """
    The schedule a station must follow on a connector, from the profiles it
    has installed.

    @param start: where the composite starts (now, usually).
    @param duration: seconds it covers.
    @param transaction: C{(transactionId, start time)} of the transaction
        running on the connector: its TxProfiles apply and Relative
        schedules start with it (with no transaction, they start at C{start}).
    @param voltage: to convert between A and W.
    """
    end = start + timedelta(seconds=duration)
    anchor = start if transaction is None else transaction[1]

    def stack(keep: Any) -> list[_Running]:
        chosen = [_Running(placed, anchor) for placed in placedProfiles if keep(placed)]
        return sorted(chosen, key=lambda running: -running.stackLevel)

    placedProfiles = list(profiles)
    capStack = stack(lambda p: p.purpose == "ChargePointMaxProfile")
    chargingStacks: list[list[_Running]] = []
    if connectorId != 0:
        if transaction is not None:
            chargingStacks.append(
                stack(
                    lambda p: (
                        p.purpose == "TxProfile"
                        and p.connectorId == connectorId
                        and p.transactionId in (None, transaction[0])
                    )
                )
            )
        for connector in (connectorId, 0):
            chargingStacks.append(
                stack(lambda p, c=connector: p.purpose == "TxDefaultProfile" and p.connectorId == c)
            )
    everything = capStack + [running for group in chargingStacks for running in group]
    edges = {start} | {
        edge
        for running in everything
        for edge in running.boundaries(start, end)
        if start < edge < end
    }
    periods: list[CompositePeriod] = []
    minimumRates = []
    for edge in sorted(edges):
        limits = []
        for group in chargingStacks:
            charging = _prevailing(group, edge)
            if charging is not None:
                limits.append(charging)
                if charging.minChargingRate is not None:
                    minimumRates.append(
                        convert(
                            charging.minChargingRate,
                            charging.unit,
                            charging.numberPhases,
                            chargingRateUnit,
                            voltage,
                        )
                    )
                break
        cap = _prevailing(capStack, edge)
        if cap is not None:
            limits.append(cap)
        period = _lowest(limits, chargingRateUnit, voltage, -(-(edge - start) // _SECOND))
        if periods and periods[-1].startPeriod == period.startPeriod:
            periods.pop()
        if not periods or (periods[-1].limit, periods[-1].numberPhases) != (
            period.limit,
            period.numberPhases,
        ):
            periods.append(period)
    return Composite(
        connectorId,
        start,
        duration,
        chargingRateUnit,
        tuple(periods),
        _tenths(max(minimumRates)) if minimumRates else None,
    )


def _lowest(limits: list[_Limit], unit: str, voltage: float, startPeriod: int) -> CompositePeriod:
    if not limits:
        return CompositePeriod(startPeriod, None)
    value, lowest = min(
        (
            (convert(limit.value, limit.unit, limit.numberPhases, unit, voltage), limit)
            for limit in limits
        ),
        key=lambda pair: pair[0],
    )
    return CompositePeriod(startPeriod, _tenths(value), lowest.numberPhases)


def fromCompositeAnswer(
    answer: Mapping[str, Any], connectorId: int, start: datetime, duration: int
) -> Composite | None:
    """
    Read a station's GetCompositeSchedule.conf.

    @param start: when it was asked (the start when the station gives none).
    @param duration: what was asked (when the station gives none).
    @return: the composite, or L{None} when the station did not give one.
    """
    schedule = answer.get("chargingSchedule")
    if answer.get("status") != "Accepted" or schedule is None:
        return None
    scheduleStart = _time(answer, "scheduleStart") or _time(schedule, "startSchedule") or start
    return Composite(
        answer.get("connectorId", connectorId),
        scheduleStart,
        schedule.get("duration", duration),
        schedule["chargingRateUnit"],
        tuple(
            CompositePeriod(period["startPeriod"], period["limit"], period.get("numberPhases"))
            for period in schedule["chargingSchedulePeriod"]
        ),
        schedule.get("minChargingRate"),
    )


@dataclass(frozen=True)
class Difference:
    """
    A stretch where two composites give different limits.

    @ivar startPeriod: seconds after the first composite's C{scheduleStart}.
    @ivar endPeriod: where the stretch ends.
    @ivar limits: each composite's limit there (in the first one's unit; L{None}: no limit).
    """

    startPeriod: int
    endPeriod: int
    limits: tuple[float | None, float | None]


def differences(first: Composite, second: Composite, voltage: float) -> list[Difference]:
    """
    Where two composites of the same connector differ, over the first one's span.
    """
    shift = (second.scheduleStart - first.scheduleStart) // _SECOND
    edges = {period.startPeriod for period in first.periods}
    edges |= {period.startPeriod + shift for period in second.periods}
    edges |= {shift, shift + second.duration}
    points = sorted(edge for edge in edges | {0} if 0 <= edge < first.duration)

    def limitOf(composite: Composite, offset: int) -> float | None:
        period = composite.limitAt(offset)
        if period is None or period.limit is None:
            return None
        return _tenths(
            convert(
                period.limit,
                composite.chargingRateUnit,
                period.numberPhases or DEFAULT_PHASES,
                first.chargingRateUnit,
                voltage,
            )
        )

    found: list[Difference] = []
    for index, point in enumerate(points):
        end = points[index + 1] if index + 1 < len(points) else first.duration
        limits = (limitOf(first, point), limitOf(second, point - shift))
        if limits[0] == limits[1]:
            continue
        if found and found[-1].endPeriod == point and found[-1].limits == limits:
            found[-1] = Difference(found[-1].startPeriod, end, limits)
        else:
            found.append(Difference(point, end, limits))
    return found
