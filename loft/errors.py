"""Loft's one error tree. Services raise these; ``loft.kit.render`` turns them into Twilio's error bodies.

::

    LoftError
    ├── ConfigurationError                  bad settings or key material; stops the process
    ├── TwimlError(code, message)           a webhook answered TwiML Loft cannot use (loft.webhooks.twiml)
    └── TwilioApiError(code, message, status)   answered to the client as Twilio's error body
        ├── Unauthenticated                 20003, 401: no or wrong credentials
        ├── TooManyRequests                 20429, 429: too many failed authentications from one address
        ├── PermissionDenied                20003, 403: credentials valid, account out of their reach
        ├── NotFound                        20404, 404
        ├── MethodNotAllowed                20004, 405
        ├── DatabaseUnavailable             20503, 503: the database cannot be used right now (loft.db.engine)
        ├── InvalidParameter                a 21xxx/35xxx code with 400 (most validation)
        └── NotImplementedByLoft            a Twilio parameter or value whose behaviour Loft lacks (400)
"""

from __future__ import annotations


class LoftError(Exception):
    """Base of every error Loft raises on purpose."""


class ConfigurationError(LoftError):
    pass


class TwilioApiError(LoftError):
    def __init__(self, code: int, message: str, status: int = 400, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.detail = detail
        #: Headers the answer carries besides the body (``Retry-After`` …).
        self.headers: dict[str, str] = {}

    def at(self, path: str) -> TwilioApiError:
        """This error as the answer to a request for ``path`` (the edge calls it: a service does not know the
        request's path, and only a 404's message names it)."""
        return self

    @property
    def more_info(self) -> str:
        return f"https://www.twilio.com/docs/errors/{self.code}"

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {
            "code": self.code,
            "message": self.message,
            "more_info": self.more_info,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        return body


class Unauthenticated(TwilioApiError):
    def __init__(self) -> None:
        super().__init__(20003, "Authenticate", 401, detail="Your AccountSid or AuthToken was incorrect.")


class TooManyRequests(TwilioApiError):
    """20429, 429: this client failed to authenticate too often (loft.accounts.throttle)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(20429, f"Too Many Requests: too many failed authentications from your address; retry "
                                f"after {retry_after} seconds", 429)
        self.headers["Retry-After"] = str(retry_after)


class PermissionDenied(TwilioApiError):
    def __init__(self, message: str = "Permission Denied") -> None:
        super().__init__(20003, message, 403)


class NotFound(TwilioApiError):
    """20404, 404: "The requested resource {path} was not found". A service raises it without the path, which
    is the request's and the service does not see: the edge that answers names it (:meth:`at`)."""

    def __init__(self, path: str | None = None) -> None:
        where = f" {path}" if path is not None else ""
        super().__init__(20404, f"The requested resource{where} was not found", 404)
        self.path = path

    def at(self, path: str) -> TwilioApiError:
        return self if self.path is not None else NotFound(path)


class MethodNotAllowed(TwilioApiError):
    def __init__(self, method: str) -> None:
        super().__init__(20004, f"Method not allowed: {method}", 405)


class DatabaseUnavailable(TwilioApiError):
    """The database cannot be used right now (down, unreachable, too slow, locked, read-only): a passing
    condition, answered 503 so that the client tries again; nothing of the request was committed.

    ``reason`` says why, for the log (never for the client: it may name hosts); ``writing``: it failed a write
    transaction (on SQLite, reads may go on while writes fail)."""

    def __init__(self, reason: str, *, writing: bool) -> None:
        super().__init__(20503, "The database is unavailable; try again later", 503)
        self.reason = reason
        self.writing = writing


class InvalidParameter(TwilioApiError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message, 400)


class NotImplementedByLoft(TwilioApiError):
    """Twilio would act on this parameter; Loft does not yet, and says so rather than ignore it."""

    def __init__(self, parameter: str, what: str) -> None:
        super().__init__(
            20001,
            f"The '{parameter}' parameter is not supported by Loft yet: {what}",
            400,
        )
