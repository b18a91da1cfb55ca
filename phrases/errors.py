"""The project's one error class for problems a user can fix."""

from __future__ import annotations


class UserError(ValueError):
    """A problem the user can fix: the message names the file or option and says what to do.

    The CLI prints it as one line and exits with status 2. Any other exception is a bug and keeps
    its traceback. (A `ValueError`, so that callers who catch bad values catch it too.)
    """
