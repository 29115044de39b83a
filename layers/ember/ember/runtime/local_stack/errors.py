"""The one error the local stack raises."""

from __future__ import annotations


class StackError(RuntimeError):
    """Raised when an embedded service cannot be started, checked or stopped.

    The message starts with the service name and, when there is one, ends with the tail of
    that service's log file, so the CLI can print it as is.
    """
