"""The modal shown when the engine finds a run that died midway (a closed window, a power
cut): finish it (the server started again on the files as they are, else on the ones from
before that run) or put every file back as it was before that run. Both are judged by the
engine: the server ends up running, or the live log says loudly that it is down."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from screens.common import KeyBar, say
from screens.keys import key, key_table
from wizard.i18n import Message, t

FINISH = "finish"
RESTORE = "restore"


class InterruptedRunScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    InterruptedRunScreen { align: center middle; }
    InterruptedRunScreen #dialog {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: $fdw-border $error; background: $surface; padding: 0 1; overflow-y: auto;
    }
    InterruptedRunScreen KeyBar { dock: none; }
    """
    KEYS, BINDINGS = key_table(
        key("f", "tui.recover.finish", ("f", f"choose('{FINISH}')")),
        key("r", "tui.recover.restore", ("r", f"choose('{RESTORE}')")),
        key("Esc", "tui.recover.later", ("escape", "choose('')")),
    )

    def __init__(self, message: Message) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(t("tui.recover.title"), classes="title", markup=False)
            yield Static(say(self.message), markup=False)
            yield Static(t("tui.recover.explain"), markup=False)
            yield KeyBar(self.KEYS)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice or None)
