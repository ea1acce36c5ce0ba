"""DataForSEO status codes (the one table every response draws from) and the service's exceptions.

Modelled on httpx's ``codes``: each ``StatusCode`` member carries its code and its documented message
(docs.dataforseo.com/v3/appendix/errors). ``http_status`` says which HTTP code goes with a status: DataForSEO answers 200
for everything except 401, 402, 404 and 500.

The service's exceptions, one tree (``except LlmResponsesError`` catches anything it raises on purpose)::

    LlmResponsesError
     ├── ApiError              a status to send back (raised in api/ and tasks/, rendered by api/)
     │    └── CrossSiteRefused a browser sent it from another site: 40100 without a login challenge
     ├── ConfigError           a setting that cannot work: the process refuses to start (also a ValueError)
     ├── StoreError
     │    ├── AccountExists    create_account with a login already taken
     │    ├── AccountNotFound  an operation on a login or id that has no account
     │    ├── UniqueViolation  a row a unique index already has (the driver's error, translated)
     │    ├── QueryTimeout     a composed read ran past its time limit and was stopped
     │    └── Busy             every connection for heavy reads stayed taken past the wait bound
     ├── UpstreamError
     │    ├── ProviderError    the model's server failed or refused; ``kind`` says whether to retry
     │    └── SearchError      the search backend could not answer: the task goes on without sources
     └── WebhookError
          ├── Refused          a webhook URL that may not be called (also a ValueError)
          └── Unresolved       its host name could not be resolved just now: worth another attempt

Outside the tree, each where it is raised: ``accounts.key_file.KeyMismatch`` (a ``RuntimeError``: the key file
is not the one the database's credentials were made with, and the process stops), the prompt-set client's
``batch.plan.PlanError`` and ``batch.client.Refused`` (a client of the public API: the CLI says them to its
user), and the dashboard's own (a filter it answers 400 to).
"""

from __future__ import annotations

from enum import Enum, IntEnum


class StatusCode(IntEnum):
    message: str

    def __new__(cls, code: int, message: str) -> StatusCode:
        member = int.__new__(cls, code)
        member._value_ = code
        member.message = message
        return member

    OK = 20000, "Ok."
    TASK_CREATED = 20100, "Task Created."
    ONE_TASK_ONLY = 40000, "You can set only one task at a time."
    ID_USED_BY_ANOTHER_CLIENT = 40001, "This id is used by another client, check the id."
    ID_USED_BY_ANOTHER_SE = 40002, "This id is used by another search engine, check the Path."
    ID_USED_BY_ANOTHER_SE_TYPE = 40003, "This id is used by another search type, check the Path."
    ID_USED_BY_ANOTHER_FUNCTION = 40004, "This id is used by another function, check the id."
    TOO_MANY_TASKS = 40006, "You can set no more than 100 tasks at a time."
    UNAUTHORIZED = (
        40100,
        "You are not authorized to access this resource. See your login details here: "
        "https://app.dataforseo.com/api-dashboard .",
    )
    INTERNAL_SE_ERROR = 40101, "Internal SE Server Error."
    NO_SEARCH_RESULTS = 40102, "No Search Results."
    TASK_EXECUTION_FAILED = 40103, "Task execution failed, please try to resubmit the task."
    VERIFY_ACCOUNT = (
        40104,
        "Please verify your account before using the API. You can complete the verification in the "
        "user panel: https://app.dataforseo.com/ .",
    )
    PAYMENT_REQUIRED = 40200, "Payment Required."
    ACCOUNT_BLOCKED = (
        40201,
        "We noticed some unusual activity in your DataForSEO account, so we’ve temporarily paused "
        "access as a precaution. Please, reach out to our support team at support@dataforseo.com for "
        "more details, and we’ll work with you to resolve this quickly.",
    )
    RATE_LIMIT = 40202, "The rate-limit per minute has been exceeded."
    COST_LIMIT = (
        40203,
        "The cost limit has been exceeded. You can modify your cost limit in the user panel "
        "https://app.dataforseo.com/api-settings.",
    )
    ACCESS_DENIED_SUBSCRIPTION = (
        40204,
        "Access denied. Visit Plans and Subscriptions to activate your subscription and get access to "
        "this API: https://app.dataforseo.com/users/getrows .",
    )
    DUPLICATE_LIMIT_HOUR = (
        40205,
        "The duplicate task limit per hour has been exceeded. You can modify your limits in the user "
        "panel https://app.dataforseo.com/api-settings.",
    )
    DUPLICATE_LIMIT_DAY = (
        40206,
        "The duplicate task limit per day has been exceeded. You can modify your limits in the user "
        "panel https://app.dataforseo.com/api-settings .",
    )
    IP_NOT_WHITELISTED = (
        40207,
        "Access denied. Your IP is not whitelisted. You can modify your IP whitelist in the user panel "
        "https://app.dataforseo.com/api-access .",
    )
    TOO_MANY_SIMULTANEOUS = 40209, "Too many simultaneous queries."
    INSUFFICIENT_FUNDS = (
        40210,
        "Insufficient funds. Your account's balance is too low to complete this request.",
    )
    NOT_FOUND = 40400, "Not Found."
    TASK_NOT_FOUND = 40401, "Task Not Found."
    INVALID_PATH = 40402, "Invalid Path."
    RESULTS_EXPIRED = 40403, "Results Expired."
    NO_PREPARED_DATA = 40404, "No Prepared Data Found. Please Contact Our Support Team."
    INSUFFICIENT_TEXT = 40405, "Textual content on the target page is insufficient."
    NOT_SUBMITTED_FOR_CRAWLING = 40406, "Requested page was not submitted for crawling."
    DUPLICATE_HOST = 40407, "Duplicate host."
    TARGET_URL_INVALID = 40408, "Target URL is invalid."
    INVALID_FIELD = 40501, "Invalid Field."
    POST_DATA_EMPTY = 40502, "POST Data Is Empty."
    POST_DATA_INVALID = 40503, "POST Data Is Invalid."
    TOO_MANY_INTERSECTING_KEYWORDS = (
        40504,
        "The number of intersecting keywords for the specified domains exceeds 10 million. Try "
        "specifying different domains.",
    )
    OLD_DATA = 40505, "You are using old data."
    UNKNOWN_FIELDS = 40506, "Unknown Fields in POST Data."
    TASK_HANDED = 40601, "Task Handed."
    TASK_IN_QUEUE = 40602, "Task In Queue."
    INTERNAL_ERROR = 50000, "Internal Error."
    BALANCE_CHECK_ERROR = 50001, "Error While Checking the Balance."
    NOT_IMPLEMENTED = 50100, "Not Implemented."
    THIRD_PARTY_UNAVAILABLE = 50301, "3rd Party API Service Unavailable."
    INTERNAL_THIRD_PARTY_UNAVAILABLE = 50302, "Internal 3rd Party API Service Unavailable."
    UPDATE_IN_PROGRESS = 50303, "Update is in progress. Please try after a few minutes"
    FUNCTION_UNAVAILABLE = (
        50304,
        "This function is temporarily unavailable. Please contact support for more information.",
    )
    TIMEOUT = 50401, "Internal Error - Timeout."
    TARGET_TOO_SLOW = 50402, "Target page took too long to respond."

    @classmethod
    def of(cls, code: int) -> StatusCode:
        """The member for a stored integer code (``StatusCode(code)``, which type checkers read as the
        two-argument constructor of the members)."""
        return cls._value2member_map_[code]  # type: ignore[return-value]

    @property
    def http_status(self) -> int:
        """HTTP status DataForSEO pairs with this code (200 unless the appendix says otherwise)."""
        return _HTTP_STATUS.get(self, 200)


_HTTP_STATUS = {
    StatusCode.UNAUTHORIZED: 401,
    StatusCode.NOT_FOUND: 404,
    StatusCode.INTERNAL_ERROR: 500,
}


class LlmResponsesError(Exception):
    """The root of every exception this package raises on purpose."""


class ApiError(LlmResponsesError):
    """A DataForSEO status to answer with; ``message`` overrides the table's text when expanded."""

    challenge = True  # a 401 asks for credentials (``WWW-Authenticate``), so a browser shows its login

    def __init__(self, status: StatusCode, message: str | None = None, *, field: str | None = None) -> None:
        self.status = status
        self.message = message or status.message
        self.field = field  # the request field an ``invalid_field`` names, for code that reacts to which
        super().__init__(f"{int(status)} {self.message}")

    @classmethod
    def invalid_field(cls, name: str) -> ApiError:
        return cls(StatusCode.INVALID_FIELD, f"Invalid Field: '{name}'.", field=name)

    @classmethod
    def unknown_fields(cls, names: list[str]) -> ApiError:
        return cls(StatusCode.UNKNOWN_FIELDS, f"Unknown Fields in POST Data: {', '.join(names)}")


class CrossSiteRefused(ApiError):
    """A request a browser sent on another site's behalf (``Sec-Fetch-Site``, ``Origin``): the credentials
    it carries are the browser's, not the caller's intent. Answered 40100 without a login challenge."""

    challenge = False

    def __init__(self) -> None:
        super().__init__(
            StatusCode.UNAUTHORIZED,
            "You are not authorized to access this resource. A browser sent this request from another "
            "site; requests with credentials are only taken from API clients and this server's own pages.",
        )


class ConfigError(LlmResponsesError, ValueError):
    """A provider, model or search setting that cannot work; the process refuses to start with it."""


class StoreError(LlmResponsesError):
    pass


class AccountExists(StoreError):
    pass


class AccountNotFound(StoreError):
    pass


class QueryTimeout(StoreError):
    """A composed read ran past its time limit and was stopped."""


class UniqueViolation(StoreError):
    """An insert or update hit a unique index (the database driver's own error, translated)."""


class Busy(StoreError):
    """Every connection for heavy reads stayed taken longer than a read may wait for one."""


class UpstreamError(LlmResponsesError):
    pass


class ErrorKind(Enum):
    UNAVAILABLE = "unavailable"  # rate limits, 5xx, connection trouble: worth another try later
    TIMEOUT = "timeout"
    INVALID_REQUEST = "invalid_request"  # the upstream refused the request itself: retrying will not help
    FATAL = "fatal"  # credentials, quota, unknown model: an operator must act
    NO_OUTPUT = "no_output"  # the upstream answered, but with no text at all (failed or cut before any)


class ProviderError(UpstreamError):
    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.param = param  # the upstream's name of the offending request parameter, when it gave one
        self.code = code  # the upstream's error code (``model_not_found``, ``insufficient_quota``, ...)
        self.retry_after = retry_after  # seconds the upstream asked us to wait before another try

    @property
    def retryable(self) -> bool:
        return self.kind in (ErrorKind.UNAVAILABLE, ErrorKind.TIMEOUT)


class SearchError(UpstreamError):
    """The backend could not answer (down, timed out, bad reply). The task answers without sources."""


class WebhookError(LlmResponsesError):
    pass


class Refused(WebhookError, ValueError):
    """The URL may not be called; the message says why (shown to the account owner)."""


class Unresolved(WebhookError):
    """The name could not be resolved just now (a temporary DNS failure): worth another attempt."""
