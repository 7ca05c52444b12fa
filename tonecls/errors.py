"""Exceptions raised at tonecls' boundaries.

Every message says what was wrong and what to do about it; the CLI prints it without a
traceback and exits with status 2.
"""


class ToneclsError(Exception):
    """Base class of the errors tonecls raises on purpose."""


class InputError(ToneclsError, ValueError):
    """The user's input (a file, a column, an option) cannot be used as given."""


class DataNotFoundError(ToneclsError, FileNotFoundError):
    """A dataset or model bundle was not found where tonecls looked for it."""
