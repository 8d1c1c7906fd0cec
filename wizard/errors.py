"""The errors every layer raises: a failure with an operator-facing message and a fix.

Lower layers (pgfiles, platform, db, locks) import these from here rather than from the
engine, so they do not depend on the step machinery.
"""

from __future__ import annotations

from wizard.i18n import Message


class StepError(Exception):
    """A failure with an operator-facing message (and an optional fix)."""

    operator_action = False

    def __init__(self, message: Message, fix: Message | None = None) -> None:
        self.message = message
        self.fix = fix
        super().__init__(message.render("en"))


class OperatorActionNeeded(StepError):
    """The step cannot go on without the operator (a secret, a decision, a manual task)."""

    operator_action = True


class NotUndoable(StepError):
    pass
