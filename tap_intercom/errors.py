"""Errors a user can act on. The CLI prints each as one line on stderr and exits non-zero."""


class TapError(Exception):
    """A problem with the input or the API, described well enough to fix without a traceback."""


class ConfigError(TapError):
    """The config, state or catalog file is missing, malformed or invalid."""


class ApiError(TapError):
    """Intercom answered with an error the tap does not retry, or kept failing after retries."""

    def __init__(self, message, status=None, code=None):
        super().__init__(message)
        self.status = status
        self.code = code


class NotFound(ApiError):
    """404: a record deleted or merged since it was listed, or an expired company scroll."""


class ScrollExists(ApiError):
    """400 scroll_exists: another company scroll of this app is still open."""


class AnswerLost(ApiError):
    """A request Intercom may have served whose answer never arrived (timeout, dropped connection, 502/504):
    raised instead of retrying where a retry could skip data (the company scroll)."""


class PendingJobsFull(ApiError):
    """429 "Exceeded rate limit of 5 pending reporting dataset export jobs": wait for a job to finish."""


class ExportError(ApiError):
    """An export that cannot be read: a failed job (after its retry), a download in no known format."""


def refusal(error):
    """Whether Intercom refuses the call to this token, plan or API version for every record alike: 403 (a
    missing scope, `api_plan_restricted`) or 400 "not available" (`intercom_version_invalid`, "Requested resource
    is not available in current API version"). A stream meeting one is skipped, not failed."""
    status = getattr(error, "status", None)
    return status == 403 or (status == 400 and "not available" in str(error))
