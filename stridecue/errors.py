"""The root of every error stridecue raises on purpose.

A ``StridecueError`` is a user-facing problem: its message is one line that says what is wrong and
what to do. The CLI prints it without a traceback and exits with status 2. Anything else that
escapes is a bug.
"""

from __future__ import annotations


class StridecueError(Exception):
    """A problem the user can fix; ``str(exc)`` says what is wrong and what to do."""


class InputError(StridecueError):
    """An input file or argument is malformed, in the wrong unit, or missing something."""


class SessionError(StridecueError):
    """A session on disk cannot be opened or written."""


class CalibrationError(StridecueError):
    """A calibration recording cannot be trusted; the message says what to redo."""
