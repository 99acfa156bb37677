"""
Tests for L{kcsms.schedule}: the rules of a ChargingProfile and the
composite schedule, with the examples of OCPP 1.6's smart-charging chapter
and properties checked by hypothesis.  Pure: no reactor.
"""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcsms.schedule import (
    Composite,
    CompositePeriod,
    Difference,
    PlacedProfile,
    ProfileRuleError,
    checkProfile,
    compositeSchedule,
    convert,
    differences,
    fromCompositeAnswer,
)

T0 = datetime(2026, 11, 28, tzinfo=UTC)
STAMP = "2026-11-28T00:00:00Z"
DAY = 86400
EXAMPLES = settings(max_examples=40, deadline=None)


def profile(purpose="TxDefaultProfile", periods=((0, 16.0),), stackLevel=0, unit="A", **fields):
    """
    An Absolute profile starting at L{T0} unless C{fields} say otherwise.

    @param periods: C{(startPeriod, limit)} or C{(startPeriod, limit, numberPhases)}.
    """
    schedule = {
        "chargingRateUnit": unit,
        "chargingSchedulePeriod": [
            {"startPeriod": p[0], "limit": p[1], **({"numberPhases": p[2]} if len(p) > 2 else {})}
            for p in periods
        ],
        **fields.pop("schedule", {"startSchedule": STAMP}),
    }
    return {
        "chargingProfileId": fields.pop("chargingProfileId", 1),
        "stackLevel": stackLevel,
        "chargingProfilePurpose": purpose,
        "chargingProfileKind": fields.pop("kind", "Absolute"),
        "chargingSchedule": schedule,
        **fields,
    }


def composite(placed, connectorId=1, start=T0, duration=DAY, unit="A", transaction=None):
    return compositeSchedule(placed, connectorId, start, duration, unit, 230.0, transaction)


def limits(result):
    """
    The composite's periods as C{(startPeriod, limit)}.
    """
    return [(period.startPeriod, period.limit) for period in result.periods]


# The examples of OCPP 1.6 §3.13


SPEC_DAILY = profile(
    periods=((0, 11000.0, 3), (28800, 6000.0, 3), (72000, 11000.0, 3)),
    unit="W",
    kind="Recurring",
    recurrencyKind="Daily",
    schedule={"duration": DAY, "startSchedule": "2013-01-01T00:00:00Z"},
    chargingProfileId=100,
)


def test_specDailyDefaultProfile():
    """
    §3.13.4: a Daily TxDefaultProfile that limits to 6 kW between 08:00 and
    20:00 (11 kW otherwise) gives exactly that on any day.
    """
    result = composite([PlacedProfile(0, SPEC_DAILY)], unit="W")
    assert limits(result) == [(0, 11000.0), (28800, 6000.0), (72000, 11000.0)]
    assert {period.numberPhases for period in result.periods} == {3}
    assert result.toJson() == {
        "status": "Accepted",
        "connectorId": 1,
        "scheduleStart": "2026-11-28T00:00:00.000Z",
        "chargingSchedule": {
            "duration": DAY,
            "chargingRateUnit": "W",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 11000.0, "numberPhases": 3},
                {"startPeriod": 28800, "limit": 6000.0, "numberPhases": 3},
                {"startPeriod": 72000, "limit": 11000.0, "numberPhases": 3},
            ],
        },
    }


def test_specDailyProfileFromAnyStart():
    """
    A window starting at 06:00 for four hours sees 11 kW, then 6 kW from 08:00.
    """
    result = composite(
        [PlacedProfile(0, SPEC_DAILY)], start=T0 + timedelta(hours=6), duration=4 * 3600, unit="W"
    )
    assert limits(result) == [(0, 11000.0), (7200, 6000.0)]


def test_stackingFallsBackWhenTheHigherScheduleEnds():
    """
    §3.13.2: the higher stack level prevails while its schedule runs; after
    its duration the lower one applies again.
    """
    base = profile(periods=((0, 32.0),))
    boost = profile(
        periods=((0, 10.0),), stackLevel=1, schedule={"startSchedule": STAMP, "duration": 3600}
    )
    result = composite([PlacedProfile(1, base), PlacedProfile(1, boost)], duration=7200)
    assert limits(result) == [(0, 10.0), (3600, 32.0)]


def test_txProfileOverridesTxDefaultAndChargePointMaxCaps():
    """
    The transaction's TxProfile prevails over any TxDefaultProfile (even of a
    higher stack level); the ChargePointMaxProfile caps the result.
    """
    placed = [
        PlacedProfile(1, profile(periods=((0, 10.0),), stackLevel=5)),
        PlacedProfile(1, profile("TxProfile", ((0, 20.0), (600, 12.0))), transactionId=7),
        PlacedProfile(0, profile("ChargePointMaxProfile", ((0, 16.0),))),
    ]
    result = composite(placed, duration=1200, transaction=(7, T0))
    assert limits(result) == [(0, 16.0), (600, 12.0)]
    withoutTransaction = composite(placed, duration=1200)
    assert limits(withoutTransaction) == [(0, 10.0)]
    otherTransaction = composite(placed, duration=1200, transaction=(8, T0))
    assert limits(otherTransaction) == [(0, 10.0)]


def test_connectorDefaultOverridesConnectorZeroDefault():
    """
    A TxDefaultProfile of the connector prevails over one on connector 0,
    which still applies to the other connectors.
    """
    placed = [
        PlacedProfile(0, profile(periods=((0, 30.0),), stackLevel=3)),
        PlacedProfile(
            2, profile(periods=((0, 8.0),), schedule={"startSchedule": STAMP, "duration": 60})
        ),
    ]
    assert limits(composite(placed, connectorId=2, duration=120)) == [(0, 8.0), (60, 30.0)]
    assert limits(composite(placed, connectorId=1, duration=120)) == [(0, 30.0)]


def test_relativeProfileStartsWithTheTransaction():
    """
    A Relative schedule counts from the transaction's start; without a
    transaction, from the composite's start.
    """
    relative = profile("TxProfile", ((0, 10.0), (1800, 20.0)), kind="Relative", schedule={})
    placed = [PlacedProfile(1, relative, transactionId=3)]
    started = T0 - timedelta(seconds=600)
    assert limits(composite(placed, duration=3600, transaction=(3, started))) == [
        (0, 10.0),
        (1200, 20.0),
    ]
    default = [PlacedProfile(1, {**relative, "chargingProfilePurpose": "TxDefaultProfile"})]
    assert limits(composite(default, duration=3600)) == [(0, 10.0), (1800, 20.0)]


def test_validityWindowAndNoLimit():
    """
    A profile applies only from validFrom to validTo; where no profile
    applies the limit is None.
    """
    bounded = profile(
        validFrom="2026-11-28T01:00:00Z", validTo="2026-11-28T02:00:00Z", periods=((0, 6.0),)
    )
    assert limits(composite([PlacedProfile(1, bounded)], duration=4 * 3600)) == [
        (0, None),
        (3600, 6.0),
        (7200, None),
    ]
    assert limits(composite([], duration=60)) == [(0, None)]


def test_absoluteProfileBeforeItsStartDoesNotApply():
    """
    An Absolute schedule starting later limits nothing before it starts.
    """
    later = profile(schedule={"startSchedule": "2026-11-28T00:10:00Z"}, periods=((0, 6.0),))
    assert limits(composite([PlacedProfile(1, later)], duration=1200)) == [(0, None), (600, 6.0)]


def test_weeklyRecurrence():
    """
    A Weekly schedule starts again seven days after its startSchedule.
    """
    weekly = profile(
        kind="Recurring",
        recurrencyKind="Weekly",
        periods=((0, 6.0), (DAY, 16.0)),
        schedule={"startSchedule": "2026-11-21T00:00:00Z"},
    )
    result = composite([PlacedProfile(1, weekly)], duration=2 * DAY)
    assert limits(result) == [(0, 6.0), (DAY, 16.0)]


def test_unitsAreConvertedWithVoltageAndPhases():
    """
    A limit in W becomes amperes per phase with the configured voltage and
    its periods' numberPhases (3 when absent), rounded down to 0.1; and back.
    """
    placed = [
        PlacedProfile(
            0, profile("ChargePointMaxProfile", ((0, 11040.0), (60, 2300.0, 1)), unit="W")
        ),
        PlacedProfile(1, profile(periods=((0, 32.0, 3),))),
    ]
    result = composite(placed, duration=120)
    assert limits(result) == [(0, 16.0), (60, 10.0)]
    assert [period.numberPhases for period in result.periods] == [3, 1]
    inWatts = composite(placed, duration=120, unit="W")
    assert limits(inWatts) == [(0, 11040.0), (60, 2300.0)]
    odd = composite([PlacedProfile(1, profile(periods=((0, 1000.0),), unit="W"))], duration=60)
    assert limits(odd) == [(0, 1.4)]


def test_minChargingRateIsConverted():
    """
    The composite's minChargingRate is the highest of the prevailing
    charging profiles', in the composite's unit.
    """
    placed = [
        PlacedProfile(
            1,
            profile(
                periods=((0, 16.0, 3),),
                schedule={"startSchedule": STAMP, "minChargingRate": 6.0},
            ),
        )
    ]
    assert composite(placed, duration=60).minChargingRate == 6.0
    assert composite(placed, duration=60, unit="W").minChargingRate == 4140.0
    assert composite([PlacedProfile(1, profile())], duration=60).minChargingRate is None


def test_connectorZeroIsTheStationWideLimit():
    """
    Connector 0 gives the ChargePointMaxProfile alone; TxDefaultProfiles do
    not limit the whole station.
    """
    placed = [
        PlacedProfile(0, profile("ChargePointMaxProfile", ((0, 40.0),))),
        PlacedProfile(0, profile(periods=((0, 10.0),))),
    ]
    assert limits(composite(placed, connectorId=0, duration=60)) == [(0, 40.0)]
    assert limits(composite(placed, connectorId=1, duration=60)) == [(0, 10.0)]


def test_subSecondBoundariesRoundUp():
    """
    A profile starting between two seconds shows from the next whole second.
    """
    late = profile(schedule={"startSchedule": "2026-11-28T00:00:10.500Z"}, periods=((0, 6.0),))
    assert limits(composite([PlacedProfile(1, late)], duration=60)) == [(0, None), (11, 6.0)]


# Station answers and differences


def test_stationAnswerIsReadAndCompared():
    """
    A GetCompositeSchedule.conf is read on its own scheduleStart; the
    differences are given on kcsms's time line, in kcsms's unit.
    """
    answer = {
        "status": "Accepted",
        "connectorId": 1,
        "scheduleStart": "2026-11-28T00:01:00Z",
        "chargingSchedule": {
            "duration": 300,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 16.0},
                {"startPeriod": 120, "limit": 8.0},
            ],
        },
    }
    station = fromCompositeAnswer(answer, 1, T0, 600)
    assert station == Composite(
        1,
        T0 + timedelta(seconds=60),
        300,
        "A",
        (CompositePeriod(0, 16.0), CompositePeriod(120, 8.0)),
    )
    ours = Composite(1, T0, 600, "A", (CompositePeriod(0, 16.0, 3), CompositePeriod(180, 8.0, 3)))
    assert differences(ours, station, 230.0) == [
        Difference(0, 60, (16.0, None)),
        Difference(360, 600, (8.0, None)),
    ]
    inWatts = Composite(1, T0 + timedelta(seconds=60), 300, "W", (CompositePeriod(0, 11040.0),))
    assert (
        differences(
            Composite(1, T0 + timedelta(seconds=60), 300, "A", (CompositePeriod(0, 16.0),)),
            inWatts,
            230.0,
        )
        == []
    )
    assert fromCompositeAnswer({"status": "Rejected"}, 1, T0, 600) is None
    withoutStart = fromCompositeAnswer(
        {"status": "Accepted", "chargingSchedule": answer["chargingSchedule"]}, 2, T0, 600
    )
    assert (withoutStart.connectorId, withoutStart.scheduleStart) == (2, T0)


# The rules


def tx(**fields):
    return profile("TxProfile", kind="Relative", schedule={}, **fields)


@pytest.mark.parametrize(
    "connectorId, checked, running, remoteStart, rule",
    [
        (
            1,
            profile("ChargePointMaxProfile"),
            None,
            False,
            "ChargePointMaxProfile only on connector 0",
        ),
        (0, tx(), None, False, "TxProfile only on a connector above 0"),
        (1, tx(), None, False, "TxProfile only on a connector with a running transaction"),
        (
            1,
            tx(transactionId=4),
            5,
            False,
            "TxProfile only for the connector's running transaction",
        ),
        (1, profile(transactionId=4), None, False, "transactionId only with TxProfile"),
        (1, profile(), None, True, "a RemoteStartTransaction profile is a TxProfile"),
        (
            1,
            tx(transactionId=4),
            None,
            True,
            "a RemoteStartTransaction profile has no transactionId",
        ),
        (1, profile(schedule={}), None, False, "Absolute needs chargingSchedule.startSchedule"),
        (
            1,
            profile(kind="Recurring", recurrencyKind="Daily", schedule={}),
            None,
            False,
            "Recurring needs chargingSchedule.startSchedule",
        ),
        (1, profile(kind="Recurring"), None, False, "Recurring needs recurrencyKind"),
        (1, profile(recurrencyKind="Daily"), None, False, "recurrencyKind only with Recurring"),
        (1, profile(kind="Relative"), None, False, "Relative has no startSchedule"),
        (1, profile(stackLevel=-1), None, False, "stackLevel must be 0 or more"),
        (1, profile(periods=((10, 6.0),)), None, False, "the first startPeriod is 0"),
        (
            1,
            profile(periods=((0, 6.0), (60, 7.0), (60, 8.0))),
            None,
            False,
            "startPeriods increase",
        ),
        (1, profile(periods=((0, 6.05),)), None, False, "limit is a multiple of 0.1"),
        (1, profile(periods=((0, -1.0),)), None, False, "limit is a multiple of 0.1"),
        (1, profile(periods=((0, 6.0, 4),)), None, False, "numberPhases is 1, 2 or 3"),
        (1, profile(periods=()), None, False, "a schedule has at least one period"),
        (
            1,
            profile(validFrom="2026-11-28T02:00:00Z", validTo="2026-11-28T01:00:00Z"),
            None,
            False,
            "validFrom must be before validTo",
        ),
        (
            1,
            profile(schedule={"startSchedule": STAMP, "duration": 0}),
            None,
            False,
            "duration must be positive",
        ),
        (
            1,
            profile(schedule={"startSchedule": STAMP, "minChargingRate": 0.25}),
            None,
            False,
            "minChargingRate is 0 or more with at most one decimal",
        ),
    ],
)
def test_ruleViolationsAreNamed(connectorId, checked, running, remoteStart, rule):
    """
    Each rule broken raises a L{ProfileRuleError} naming it.
    """
    with pytest.raises(ProfileRuleError) as raised:
        checkProfile(connectorId, checked, running, remoteStart)
    assert raised.value.rule.startswith(rule)


@pytest.mark.parametrize(
    "connectorId, checked, running, remoteStart",
    [
        (0, profile("ChargePointMaxProfile"), None, False),
        (0, profile(), None, False),
        (2, profile(kind="Recurring", recurrencyKind="Weekly", stackLevel=0), None, False),
        (1, tx(), 5, False),
        (1, tx(transactionId=5), 5, False),
        (1, tx(), None, True),
        (1, profile(periods=((0, 6.1), (60, 32.3))), None, False),
        (1, {"chargingProfilePurpose": "TxDefaultProfile", "stackLevel": "x"}, None, False),
    ],
)
def test_validProfilesPass(connectorId, checked, running, remoteStart):
    """
    Profiles that follow the rules (or whose fields are of the wrong type,
    left to the schema check) pass.
    """
    checkProfile(connectorId, checked, running, remoteStart)


# Properties

limitValues = st.integers(min_value=0, max_value=800).map(lambda tenths: tenths / 10)
periodLists = st.lists(
    st.tuples(st.integers(min_value=1, max_value=DAY - 1), limitValues), max_size=6
).map(
    lambda rest: (
        [(0, rest[0][1] if rest else 16.0)]
        + sorted({start: (start, limit) for start, limit in rest}.values())
    )
)


def merged(periods):
    """
    Periods with consecutive equal limits merged.
    """
    result = []
    for start, limit in periods:
        if not result or result[-1][1] != limit:
            result.append((start, limit))
    return result


def stepAt(periods, offset):
    return [limit for start, limit in periods if start <= offset][-1]


@EXAMPLES
@given(periodLists)
def test_singleProfileYieldsItself(periods):
    """
    One Absolute profile starting with the composite gives its own periods.
    """
    result = composite([PlacedProfile(1, profile(periods=periods))])
    assert limits(result) == merged(periods)


@EXAMPLES
@given(
    periodLists,
    periodLists,
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=0, max_value=3),
)
def test_compositeNeverExceedsChargePointMax(capPeriods, periods, stackLevel, startHour):
    """
    At no instant does the composite exceed the ChargePointMaxProfile.
    """
    placed = [
        PlacedProfile(0, profile("ChargePointMaxProfile", capPeriods)),
        PlacedProfile(
            1,
            profile(
                periods=periods,
                stackLevel=stackLevel,
                schedule={"startSchedule": f"2026-11-28T0{startHour}:00:00Z"},
            ),
        ),
    ]
    result = composite(placed)
    for index, period in enumerate(result.periods):
        end = result.periods[index + 1].startPeriod if index + 1 < len(result.periods) else DAY
        for start, _ in capPeriods + [(period.startPeriod, None)]:
            if period.startPeriod <= start < end:
                assert period.limit <= stepAt(capPeriods, start)


@EXAMPLES
@given(
    periodLists,
    periodLists,
    st.integers(min_value=0, max_value=8),
    st.integers(min_value=1, max_value=8),
)
def test_higherStackLevelAlwaysWins(low, high, lowLevel, raise_):
    """
    While the higher stack level's schedule runs, the lower one never shows.
    """
    placed = [
        PlacedProfile(1, profile(periods=low, stackLevel=lowLevel, chargingProfileId=1)),
        PlacedProfile(1, profile(periods=high, stackLevel=lowLevel + raise_, chargingProfileId=2)),
    ]
    assert limits(composite(placed)) == limits(composite(placed[1:]))


@EXAMPLES
@given(periodLists, st.integers(min_value=0, max_value=DAY - 1))
def test_dailyProfileRepeatsEveryDay(periods, offset):
    """
    A Daily profile gives the same limit at the same time on the next day.
    """
    daily = profile(
        periods=periods,
        kind="Recurring",
        recurrencyKind="Daily",
        schedule={"startSchedule": "2026-01-01T03:00:00Z"},
    )
    result = composite([PlacedProfile(1, daily)], duration=2 * DAY)
    assert result.limitAt(offset).limit == result.limitAt(offset + DAY).limit


@EXAMPLES
@given(
    st.floats(min_value=0, max_value=1000, allow_nan=False),
    st.integers(min_value=1, max_value=3),
    st.sampled_from([110.0, 230.0, 240.0]),
)
def test_ampereWattRoundTrip(amperes, phases, voltage):
    """
    Converting A to W and back gives the amperes again.
    """
    watts = convert(amperes, "A", phases, "W", voltage)
    assert watts == pytest.approx(amperes * voltage * phases)
    assert convert(watts, "W", phases, "A", voltage) == pytest.approx(amperes)
    assert convert(amperes, "A", phases, "A", voltage) == amperes
