#!/usr/bin/env bash
# TUI smoke test, run by CI: the INSTALLED `fdw-wizard` in tmux (80x24) against a sandbox,
# typed through the welcome, checklist and step detail screens; asserts on capture-pane text.
# Every wait is bounded; exits non-zero on the first failure (and prints the screen).
#   usage: tests/tui_smoke.sh [path/to/fdw-wizard]    (default: fdw-wizard on PATH)
set -euo pipefail

WIZARD="${1:-$(command -v fdw-wizard || true)}"
[ -x "$WIZARD" ] || { echo "tui_smoke: fdw-wizard not found (pass its path)" >&2; exit 2; }
command -v tmux >/dev/null || { echo "tui_smoke: tmux is not installed" >&2; exit 2; }

WORK="$(mktemp -d /tmp/fdw-tui-smoke.XXXXXX)"
chmod 755 "$WORK"  # as root the sandbox clusters run as postgres, which must reach it
SESSION="fdw-tui-smoke-$$"
export FDW_WIZARD_DATA_DIR="$WORK/data"
export TERM="${TERM:-xterm-256color}"

cleanup() {
    tmux kill-session -t "$SESSION" 2>/dev/null || true
    "$WIZARD" demo --stop --dir "$WORK/sandbox" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

screen() { tmux capture-pane -p -t "$SESSION"; }

# wait_for TEXT SECONDS: poll the screen until TEXT shows, or fail.
wait_for() {
    local text="$1" limit="$2" waited=0
    while ! screen | grep -qF -- "$text"; do
        if [ "$waited" -ge $((limit * 10)) ]; then
            echo "tui_smoke: FAILED waiting ${limit}s for: $text" >&2
            echo "----- screen -----" >&2; screen >&2; echo "------------------" >&2
            exit 1
        fi
        sleep 0.1; waited=$((waited + 1))
    done
    echo "tui_smoke: ok: $text"
}

keys() { tmux send-keys -t "$SESSION" "$@"; }

echo "tui_smoke: starting the sandbox in $WORK/sandbox"
"$WIZARD" demo --no-tui --dir "$WORK/sandbox" --scale 0.01 >/dev/null
CONFIG="$WORK/sandbox/fdw-wizard.yaml"

tmux new-session -d -s "$SESSION" -x 80 -y 24 \
    "env NO_COLOR=1 '$WIZARD' --config '$CONFIG' --lang pt-BR; sleep 30"

wait_for "O que você quer fazer?" 20
wait_for "[OK] carregada (sandbox de ensaio)" 10
keys 1                                   # guided setup
wait_for "Progresso da Execução" 10
wait_for "Pré-requisitos    4/4  [OK]" 60  # the live check of every step finished
wait_for "Pronto." 60                    # ... and the run is over
wait_for "[OK] concluído" 5
keys Enter                               # the cursor waits on the first step left to do
wait_for "O que esta etapa faz" 10
wait_for "(local.listen)" 5
wait_for "listen_addresses" 30           # the plan preview (a dry run) is shown
keys F2                                  # the language switches everywhere, at once
wait_for "What this step does" 10
keys F2
wait_for "O que esta etapa faz" 10
keys Escape
wait_for "Progresso da Execução" 10
keys Escape
wait_for "O que você quer fazer?" 10
keys C-q
sleep 1
if tmux has-session -t "$SESSION" 2>/dev/null && screen | grep -qF "O que você quer fazer?"; then
    echo "tui_smoke: FAILED: Ctrl+Q did not quit" >&2; exit 1
fi
echo "tui_smoke: PASSED"
