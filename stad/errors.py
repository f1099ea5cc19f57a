"""Errors a user can fix: the CLI prints the message as one line and exits non-zero."""


class StadError(Exception):
    """Bad input or environment; the message names the file, video or field at fault."""
