"""Both catalogs have every key; every key the code uses exists; placeholders agree."""

from __future__ import annotations

import re
import string
from pathlib import Path

from wizard.i18n import LANGUAGES, catalog, detect_language, normalize_language, t

ROOT = Path(__file__).resolve().parent.parent
KEY_USE = re.compile(r"""(?:Message|\bt)\(\s*["']([a-z][a-zA-Z0-9_.\-/]+)["']""")


def test_same_keys_in_every_language() -> None:
    en = set(catalog("en"))
    for lang in LANGUAGES:
        keys = set(catalog(lang))
        assert keys == en, f"{lang}: missing {sorted(en - keys)}, extra {sorted(keys - en)}"


def test_placeholders_agree() -> None:
    fmt = string.Formatter()
    for key, text in catalog("en").items():
        want = {f for _, f, _, _ in fmt.parse(text) if f}
        got = {f for _, f, _, _ in fmt.parse(catalog("pt-BR")[key]) if f}
        assert want == got, key


def test_every_literal_key_in_the_code_exists() -> None:
    known = set(catalog("en"))
    missing: list[str] = []
    for folder in ("wizard", "screens"):
        for path in (ROOT / folder).rglob("*.py"):
            for key in KEY_USE.findall(path.read_text(encoding="utf-8")):
                if not key.endswith(".") and key not in known:  # "x." + name is dynamic
                    missing.append(f"{path.relative_to(ROOT)}: {key}")
    assert missing == []


def test_step_titles_and_help_exist_for_every_step() -> None:
    from wizard.steps import all_steps

    for step in all_steps():
        for lang in LANGUAGES:
            assert step.title.key in catalog(lang)
            assert step.explanation.key in catalog(lang)


def test_language_detection(monkeypatch: object) -> None:
    import pytest

    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("LANG", "pt_BR.UTF-8")
        mp.delenv("LC_ALL", raising=False)
        mp.delenv("LC_MESSAGES", raising=False)
        assert detect_language() == "pt-BR"
        mp.setenv("LANG", "en_US.UTF-8")
        assert detect_language() == "en"
        mp.setenv("FDW_WIZARD_LANG", "pt")
        assert detect_language() == "pt-BR"
    finally:
        mp.undo()
    assert normalize_language("PT-br") == "pt-BR"
    assert normalize_language("fr_FR") is None
    assert t("status.done", "pt-BR") == "concluído"


# Row counts reach the tens of thousands (24,000 duplicated clientes rows in the sandbox): a
# bare "{rows}" prints "24000", which a Brazilian may misread; ":n" groups it by the locale.
ROW_COUNTS = {"rows", "removable", "live", "backup_rows", "live_rows", "expected_rows", "inserted"}


def test_every_row_count_is_grouped_by_the_locale() -> None:
    fmt = string.Formatter()
    bare: list[str] = []
    for lang in LANGUAGES:
        for key, text in catalog(lang).items():
            for _, name, spec, _ in fmt.parse(text):
                if (
                    name in ROW_COUNTS
                    and spec not in ("n",)
                    and not (spec or "").startswith("plural:")
                ):
                    bare.append(f"{lang} {key}: {{{name}}}")
    assert bare == []


def test_a_row_count_reads_right_in_portuguese() -> None:
    from wizard.i18n import Message

    pending = Message("step.cleanup.report.pending", {"met": 2, "total": 4, "rows": 24000})
    assert pending.render("pt-BR").endswith("ainda faltam remover 24.000 linhas duplicadas")
    assert pending.render("en").endswith("24,000 duplicated rows still to remove")
    one = Message("step.cleanup.backup.none", {"rows": 1, "table": "public.clientes"})
    assert one.render("pt-BR").startswith("ainda não há backup: 1 linha de public.clientes")


def test_an_outage_kind_is_said_in_the_operators_words() -> None:
    """validate.offline keeps machine labels ("hung, warm") in its facts; what it says uses
    the catalog's words for each of them (a label the catalog lacks is shown as it is)."""
    from wizard.i18n import Message

    case = Message(
        "step.validate.offline.case",
        {"kind": "hung, warm", "seconds": 3.001, "status": 500, "sqlstate": "57014", "bound": 3},
    )
    said = case.render("pt-BR")
    assert said.startswith("DW travado (aceita a conexão e não responde), conexão já aberta: ")
    assert "3,001 s" in said and "hung" not in said and "warm" not in said
    assert case.render("en").startswith("DW hung (accepts the connection, never answers), warm")
    odd = Message("step.validate.offline.case_hung", {"kind": "flooded, fresh"})
    assert odd.render("pt-BR").startswith("DW flooded, conexão nova: ")


def test_the_success_metrics_group_their_numbers() -> None:
    from wizard.i18n import current_language, set_language
    from wizard.steps.cleanup_report import _metric_message

    before = current_language()
    set_language("pt-BR")
    try:
        rows = {"id": "duplicated_rows", "mode": "delete-bi-rows", "before": None, "now": 24000}
        said = _metric_message({**rows, "state": "not_met"}).render("pt-BR")
        assert "no backup -, agora 24.000 — meta não atingida" in said
        latency = {"id": "latency", "goal": 500, "now": 1234.5, "state": "not_met"}
        assert "1.234 ms; meta abaixo de 500 ms" in _metric_message(latency).render("pt-BR")
    finally:
        set_language(before)
