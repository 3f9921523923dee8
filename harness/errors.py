"""Errors shared by the ``mock-harness`` subcommands."""


class CommandError(Exception):
    """A user-facing failure: the message says what went wrong and what to do next.

    ``harness.cli.main`` prints it as ``mock-harness <command>: error: <message>`` and exits 2.
    """


class MissingExtraError(ImportError):
    """A feature needs an optional dependency group ("extra") that is not installed.

    The message names the extra and the command that installs it; ``harness.cli.main`` prints it
    and exits 1.
    """

    def __init__(self, extra: str, feature: str) -> None:
        self.extra = extra
        super().__init__(f"{feature} needs the [{extra}] extra: "
                         f"pip install 'bulk-messaging-mock[{extra}]'")
