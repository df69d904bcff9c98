"""The one family of domain errors that services raise; each transport maps them to a 4xx with the message."""


class LedgerError(Exception):
    """A request the ledger refuses; nothing was written. `field` names the input at fault, if one is."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(LedgerError):
    """A value that breaks a rule: a negative price, an unknown action, levels on the wrong side."""

    status_code = 422


class NotPermitted(LedgerError):
    """The person or token may look but not act: the `ledger.trade` permission, or a token's `trade` scope,
    is missing."""

    status_code = 403


class NotFound(LedgerError):
    status_code = 404


class Conflict(LedgerError):
    """The request is well formed but the ledger's state refuses it."""

    status_code = 409


class Outdated(Conflict):
    """An edit made on a version of a record that has changed since (another tab, the API): refused, not written
    over the newer one."""


class SignalConflict(Conflict):
    """A signal_id already recorded with a different body."""


class InvalidTransition(Conflict):
    """A state change the life cycle does not allow, e.g. executing an EXPIRED signal."""


class NotExecutable(InvalidTransition):
    """The market or the account refuses an entry now: no recent price, the fill already past a level, no
    cash, a limit on open trades. A signal that arrives and meets one is recorded EXPIRED with the reason."""


class PriceMoved(Conflict):
    """The fill moved past PAPER_MAX_DEVIATION from the price the trader confirmed: nothing was done. `price` is the
    fill now, which the trader may confirm afresh."""

    def __init__(self, message: str, *, price, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.price = price


class AlreadyClosed(InvalidTransition):
    """Someone (a tick, the end of day, a person) closed the trade first."""


def error_body(message: str, field: str | None = None) -> dict:
    """The API's one error shape (docs/api.md, "Errors"), for every answer outside a view that must speak it."""
    return {"detail": [{"field": field, "message": message}]}
