"""Exit codes of every command (DESIGN.md: the automation contract)."""

OK = 0  # success
FAILED = 1  # a step or check failed
USAGE = 2  # bad usage or config, or a command not built yet
OPERATOR = 3  # operator action needed (a confirmation, a secret, a manual step)
