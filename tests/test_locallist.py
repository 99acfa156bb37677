"""
Tests for L{kcsms.locallist}: the plan that brings a station's local list
to the desired one.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcsms.locallist import Update, applyUpdate, nextVersion, planSync

ACCEPTED = {"status": "Accepted"}
BLOCKED = {"status": "Blocked"}

tags = st.text(alphabet="ABCDEF0123", min_size=1, max_size=4)
infos = st.sampled_from(
    [ACCEPTED, BLOCKED, {"status": "Accepted", "parentIdTag": "P"}, {"status": "Expired"}]
)
lists = st.dictionaries(tags, infos, max_size=30)


def applyAll(installed, updates):
    for update in updates:
        installed = applyUpdate(installed, update)
    return installed


@settings(max_examples=300, deadline=None)
@given(
    installed=st.one_of(st.none(), lists),
    desired=lists,
    maxLength=st.integers(1, 12),
    forceFull=st.booleans(),
    version=st.integers(1, 1000),
)
def test_applyingThePlanYieldsTheDesiredList(installed, desired, maxLength, forceFull, version):
    """
    Whatever is installed, applying the planned updates in order yields the
    desired list; no message is longer than C{maxLength}; versions increase
    by one from C{version}; only the first may be Full.
    """
    updates = planSync(installed, desired, version, maxLength, forceFull)
    assert applyAll(installed, updates) == desired or (not updates and installed == desired)
    assert all(len(update.entries) <= maxLength for update in updates)
    assert [u.listVersion for u in updates] == list(range(version, version + len(updates)))
    assert all(u.updateType == "Differential" for u in updates[1:])
    if installed is None or forceFull:
        assert updates[0].updateType == "Full"


@settings(max_examples=200, deadline=None)
@given(installed=lists, desired=lists)
def test_differentialCarriesOnlyChanges(installed, desired):
    """
    With the installed list known, the plan never carries more entries than
    the changes or a Full of the desired list, whichever is smaller.
    """
    updates = planSync(installed, desired, 1, 1000)
    changed = {t for t in desired if installed.get(t) != desired[t]} | (
        set(installed) - set(desired)
    )
    sent = sum(len(update.entries) for update in updates)
    assert sent <= max(min(len(changed), len(desired)), 0) or not updates


def test_upToDateSendsNothing():
    """
    A station that has the desired list gets nothing, unless forced.
    """
    assert planSync({"A": ACCEPTED}, {"A": ACCEPTED}, 5, 10) == []
    assert planSync({"A": ACCEPTED}, {"A": ACCEPTED}, 5, 10, forceFull=True) == [
        Update("Full", 5, (("A", ACCEPTED),))
    ]


def test_unknownStationGetsFull():
    """
    Nothing known of the station's list: a Full, even of an empty list.
    """
    assert planSync(None, {}, 1, 10) == [Update("Full", 1, ())]
    assert planSync(None, {"B": BLOCKED, "A": ACCEPTED}, 3, 10) == [
        Update("Full", 3, (("A", ACCEPTED), ("B", BLOCKED)))
    ]


def test_changeSendsDifferentialWithRemovals():
    """
    One changed, one added, one removed tag: a Differential of those three,
    the removal without idTagInfo.
    """
    installed = {t: ACCEPTED for t in "ABCDEFG"}
    desired = {**{t: ACCEPTED for t in "ABCDEF" if t != "B"}, "B": BLOCKED, "H": ACCEPTED}
    [update] = planSync(installed, desired, 8, 10)
    assert update == Update("Differential", 8, (("B", BLOCKED), ("H", ACCEPTED), ("G", None)))
    assert update.toRequest() == {
        "listVersion": 8,
        "updateType": "Differential",
        "localAuthorizationList": [
            {"idTag": "B", "idTagInfo": {"status": "Blocked"}},
            {"idTag": "H", "idTagInfo": {"status": "Accepted"}},
            {"idTag": "G"},
        ],
    }


def test_fullWhenSmaller():
    """
    When the desired list is no larger than the changes, a Full is sent.
    """
    [update] = planSync({t: ACCEPTED for t in "ABCD"}, {"E": ACCEPTED}, 2, 10)
    assert update == Update("Full", 2, (("E", ACCEPTED),))


def test_splitUpdates():
    """
    Seven entries with a maximum of three: a Full of three then two
    Differentials, versions increasing.
    """
    desired = {t: ACCEPTED for t in "ABCDEFG"}
    updates = planSync(None, desired, 4, 3)
    assert [(u.updateType, u.listVersion, len(u.entries)) for u in updates] == [
        ("Full", 4, 3),
        ("Differential", 5, 3),
        ("Differential", 6, 1),
    ]


def test_nextVersion():
    """
    The next version is above what is installed and what the station
    reported, and at least 1 (never 0 or -1).
    """
    assert nextVersion(0) == 1
    assert nextVersion(7, 3) == 8
    assert nextVersion(2, 9) == 10
    assert nextVersion(0, -1) == 1
    with pytest.raises(ValueError):
        planSync(None, {}, 1, 0)
