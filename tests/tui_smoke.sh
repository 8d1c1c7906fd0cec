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
# A tmux server of its own: nothing else on the machine can end or confuse its session.
tmux() { command tmux -L "$SESSION" "$@"; }
export FDW_WIZARD_DATA_DIR="$WORK/data"
export TERM="${TERM:-xterm-256color}"

cleanup() {
    tmux kill-server 2>/dev/null || true
    "$WIZARD" demo --stop --dir "$WORK/sandbox" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

screen() { tmux capture-pane -p -t "$SESSION"; }

# diagnose: what a failed wait needs to be understood from the CI log alone: the CLI's view
# of every step, and the tail of each sandbox server's log.
diagnose() {
    [ -n "${CONFIG:-}" ] || return 0
    echo "----- what the TUI recorded for each step that failed (state file) -----"
    "$PYTHON" - "$CONFIG" <<'PY' 2>&1 || true
import sys
from pathlib import Path
from wizard.i18n import Message
from wizard.state import StateStore
for step_id, entry in StateStore(Path(sys.argv[1])).steps().items():
    if entry.get("status") in ("done", "not_applicable", "pending", "blocked", "manual"):
        continue
    message = entry.get("message") or {}
    text = Message(message["key"], message.get("params") or {}).render("en") if message.get("key") else ""
    print(f"{step_id}: {entry.get('status')}: {text}")
    if entry.get("last_error"):
        print(f"    error: {entry['last_error']}")
PY
    echo "----- status (CLI) -----"
    env NO_COLOR=1 "$WIZARD" status --config "$CONFIG" --lang en 2>&1 | grep -v "^ *\[OK\]" | head -40 || true
    local log
    for log in $(find "$WORK/sandbox" -name '*.log' -newer "$WORK" 2>/dev/null | head -6); do
        echo "----- $log (tail) -----"; tail -15 "$log"
    done
}

# wait_for TEXT SECONDS: poll the screen until TEXT shows, or fail.
wait_for() {
    local text="$1" limit="$2" waited=0
    while ! screen | grep -qF -- "$text"; do
        if [ "$waited" -ge $((limit * 10)) ]; then
            echo "tui_smoke: FAILED waiting ${limit}s for: $text" >&2
            echo "----- screen -----" >&2; screen >&2; echo "------------------" >&2
            diagnose >&2
            exit 1
        fi
        sleep 0.1; waited=$((waited + 1))
    done
    echo "tui_smoke: ok: $text"
}

keys() { tmux send-keys -t "$SESSION" "$@"; }

# The installed package's interpreter (for the step titles in pt-BR).
PYTHON="$(dirname "$WIZARD")/python"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"

# Internal field names an operator must never read.
RAW_FIELDS='records:|ok: [0-9]|gate_ok|stale: |bound_s|dw_addresses|measured_at|reused|p95_ms|_ms:'

# flat FILE: the captured screens as one line: borders, scrollbar glyphs and line breaks out,
# so a step name wrapped onto a second row reads whole again.
flat() { sed 's/[│|▁▂▃▄▅▆▇█▉▊▋▌▍▎▏]/ /g' "$1" | tr '\n' ' ' | tr -s ' '; }

no_raw_fields() {  # FILE WHERE
    if grep -Eq "$RAW_FIELDS" "$1"; then
        echo "tui_smoke: FAILED: a raw field name on the $2:" >&2
        grep -En "$RAW_FIELDS" "$1" >&2; exit 1
    fi
}

# Walk the whole checklist with the cursor (80x24 shows a part of it at a time) and check that
# every step's name is on screen whole, and no raw field name is.
walk_checklist() {
    local seen="$WORK/checklist.txt" titles="$WORK/titles.txt" missing=0 title
    : > "$seen"
    "$PYTHON" -c 'from wizard.steps import all_steps
for s in all_steps(): print(s.title.render("pt-BR"))' > "$titles"
    for _ in $(seq 1 60); do keys Down; sleep 0.05; screen >> "$seen"; done
    local text; text="$(flat "$seen")"
    while IFS= read -r title; do
        if ! grep -qF -- "$title" <<< "$text"; then
            echo "tui_smoke: FAILED: step name not shown whole at 80x24: $title" >&2
            missing=1
        fi
    done < "$titles"
    [ "$missing" = 0 ] || { echo "----- last screen -----" >&2; screen >&2; exit 1; }
    no_raw_fields "$seen" "checklist"
    echo "tui_smoke: ok: every step name whole at 80x24 ($(wc -l < "$titles") steps)"
}

echo "tui_smoke: starting the sandbox in $WORK/sandbox"
"$WIZARD" demo --no-tui --dir "$WORK/sandbox" --scale 0.01 >/dev/null
CONFIG="$WORK/sandbox/fdw-wizard.yaml"

tmux new-session -d -s "$SESSION" -x 80 -y 24 \
    "env NO_COLOR=1 '$WIZARD' --config '$CONFIG' --lang pt-BR; sleep 30"

wait_for "O que você quer fazer?" 20
wait_for "[OK] carregada (sandbox de ensaio)" 10
keys 1                                   # guided setup
wait_for "== Pré-requisitos ==" 10
wait_for "[OK] 4/4" 60                   # the live check of every step finished ...
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
wait_for "== Pré-requisitos ==" 10
walk_checklist
keys Escape
wait_for "O que você quer fazer?" 10
keys C-q
sleep 1
if tmux has-session -t "$SESSION" 2>/dev/null && screen | grep -qF "O que você quer fazer?"; then
    echo "tui_smoke: FAILED: Ctrl+Q did not quit" >&2; exit 1
fi

# The dashboard after a real setup (phases 1-3 by the CLI): words and charts, no raw field.
tmux kill-session -t "$SESSION" 2>/dev/null || true
echo "tui_smoke: applying phases 1-3 on the sandbox"
"$WIZARD" apply --yes --config "$CONFIG" --lang pt-BR >/dev/null 2>&1 || true
"$WIZARD" watch --interval 1 --duration 3s --config "$CONFIG" >/dev/null 2>&1 || true
tmux new-session -d -s "$SESSION" -x 80 -y 24 \
    "env NO_COLOR=1 '$WIZARD' --config '$CONFIG' --lang pt-BR; sleep 30"
wait_for "O que você quer fazer?" 20
wait_for "[OK] carregada (sandbox de ensaio)" 10
keys 1
wait_for "== Pré-requisitos ==" 10
wait_for "Pronto." 90
keys d
wait_for "Latência por leitura" 120      # measured by itself when the session has no result
DASH="$WORK/dashboard.txt"
: > "$DASH"
for _ in $(seq 1 40); do screen >> "$DASH"; keys PageDown; sleep 0.1; done
grep -qF "Monitoramento" "$DASH" || { echo "tui_smoke: FAILED: no monitoring panel" >&2; exit 1; }
grep -qF "p95 x meta" "$DASH" || { echo "tui_smoke: FAILED: no latency chart" >&2; exit 1; }
no_raw_fields "$DASH" "dashboard"
echo "tui_smoke: ok: the dashboard speaks words, with its charts"
keys C-q
sleep 1
echo "tui_smoke: PASSED"
