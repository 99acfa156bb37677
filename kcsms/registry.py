"""
The stations connected to this node, by chargePointId.
"""

from kcsms.rpc import ChargePointSession

__all__ = ["ChargePointRegistry"]


class ChargePointRegistry:
    """
    Connected sessions by chargePointId; at most one per id.
    """

    def __init__(self) -> None:
        self._sessions: dict[str, ChargePointSession] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self._sessions.values()))

    def get(self, chargePointId: str) -> ChargePointSession | None:
        return self._sessions.get(chargePointId)

    def register(self, session: ChargePointSession) -> ChargePointSession | None:
        """
        Make C{session} the one for its id.

        @return: the session it replaces, if any.
        """
        previous = self._sessions.get(session.chargePointId)
        self._sessions[session.chargePointId] = session
        return previous

    def unregister(self, session: ChargePointSession) -> bool:
        """
        Forget C{session}, unless another has replaced it already.

        @return: whether it was the registered one.
        """
        if self._sessions.get(session.chargePointId) is session:
            del self._sessions[session.chargePointId]
            return True
        return False
