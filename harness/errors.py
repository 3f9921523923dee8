"""Errors shared by the ``mock-harness`` subcommands."""


class CommandError(Exception):
    """A user-facing failure: the message says what went wrong and what to do next.

    ``harness.cli.main`` prints it as ``mock-harness <command>: error: <message>`` and exits 2.
    """
