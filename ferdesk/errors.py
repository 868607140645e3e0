"""User-facing errors: each carries a one-line message that names the problem."""


class FerdeskError(Exception):
    """An error caused by the user's input or machine, shown as one line, never a traceback."""


class SourceError(FerdeskError):
    pass


class ModelError(FerdeskError):
    pass


class LogError(FerdeskError):
    pass


class PriorError(FerdeskError):
    pass


class StreamError(FerdeskError):
    pass
