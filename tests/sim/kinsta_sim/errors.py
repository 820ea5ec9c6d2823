"""Kinsta's error answers: the messages, the {status, message[, data]}
envelope as an exception, and the checks of request body fields that
raise it."""

MSG_401 = "No or invalid API key provided to the request"
MSG_404 = "Could not find data or the user does not have permissions to retrieve it"
MSG_400 = "One or more of the required parameters were not provided to the request"
MSG_BUSY = "The environment is blocked by another process. Please try again a bit later."
MSG_429 = "Too many requests, please try again later."
MSG_500 = "Error occurred while processing your request"


class ApiError(Exception):
    """An answer other than success: HTTP status, message, and whether the
    body carries "data": null."""

    def __init__(self, status, message, data_null=True, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.data_null = data_null
        self.headers = headers or {}

    def body(self):
        b = {"status": self.status, "message": self.message}
        if self.data_null:
            b["data"] = None
        return b


class OpFailure(Exception):
    """An operation's effect could not take place: the operation fails."""


def err404(what=None):
    return ApiError(404, what or MSG_404)


def err400(msg=MSG_400):
    return ApiError(400, msg, data_null=False)


def req_str(body, field):
    """body[field], a non-empty string, or a 400."""
    v = body.get(field) if isinstance(body, dict) else None
    if not isinstance(v, str) or not v:
        raise err400('"%s" is required' % field)
    return v


def opt_bool(body, field, default):
    """body[field] (default when absent), a boolean, or a 400."""
    v = body.get(field, default)
    if not isinstance(v, bool):
        raise err400('"%s" must be a boolean' % field)
    return v
