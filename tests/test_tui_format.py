"""Locale-correct numbers, sizes, percentages, durations and plural forms (Babel), in the
catalogs' placeholders and in argparse's own texts."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout

import pytest

from wizard.i18n import current_language, set_language, t
from wizard.i18n.format import (
    format_bytes,
    format_decimal,
    format_duration,
    format_number,
    format_percent,
    formatter,
    plural_word,
)


@pytest.fixture(autouse=True)
def _restore_language() -> object:
    before = current_language()
    yield
    set_language(before)


def test_numbers_as_each_language_writes_them() -> None:
    assert format_decimal(5.005, "pt-BR") == "5,005"
    assert format_decimal(5.005, "en") == "5.005"
    assert format_decimal(7.0, "pt-BR") == "7"
    assert format_decimal(0.1 + 0.2, "en") == "0.3"
    assert format_number(10000, "pt-BR") == "10.000"
    assert format_number(10000, "en") == "10,000"
    assert format_bytes(119_100_000, "pt-BR") == "119,1 MB"
    assert format_bytes(119_100_000, "en") == "119.1 MB"
    assert format_bytes(1, "pt-BR") == "1 byte"
    assert format_percent(100.0, "pt-BR") == "100%"
    assert format_percent(99.53, "pt-BR") == "99,5%"
    assert format_duration(5.005, "pt-BR") == "5,005 s"
    assert format_duration(125, "en") == "2 min 5 s"
    assert format_duration(3 * 3600 + 600, "pt-BR") == "3 h 10 min"


def test_plural_rules() -> None:
    assert plural_word(1, "pt-BR", "sonda", "sondas") == "sonda"
    assert plural_word(0, "pt-BR", "sonda", "sondas") == "sonda"  # CLDR: pt's "one" is 0-1
    assert plural_word(2, "pt-BR", "sonda", "sondas") == "sondas"
    assert plural_word(0, "en", "probe", "probes") == "probes"
    assert plural_word(1, "en", "probe", "probes") == "probe"


def test_catalog_placeholders() -> None:
    fmt = formatter("pt-BR")
    assert fmt.format("{n} {n:plural:ação|ações}", n=1) == "1 ação"
    assert fmt.format("{n:n} {n:plural:linha|linhas}", n=24000) == "24.000 linhas"
    assert fmt.format("{x:.1f} {b:bytes} {p:pct} {s:dur}", x=2, b=2_500, p=50, s=61) == (
        "2,0 2,5 kB 50% 1 min 1 s"
    )
    assert fmt.format("{port}", port=39199) == "39199"  # ints are not grouped by default
    assert fmt.format("{x:bytes}", x="-") == "-"  # a preformatted value is shown as it is
    text = t(
        "step.validate.offline.slow", "pt-BR", count=1, total=3, kind="x", seconds=5.005, bound=7.0
    )
    assert "5,005 s (limite 7 s)" in text
    text = t(
        "step.validate.offline.slow", "en", count=1, total=3, kind="x", seconds=5.005, bound=7.0
    )
    assert "5.005 s (bound 7 s)" in text
    assert t("tui.log.plan_ready", "pt-BR", step="s", count=1, risks="-").endswith(
        "1 ação, riscos: -"
    )


def test_argparse_speaks_portuguese() -> None:
    from wizard.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        assert main(["--lang", "pt-BR", "--help"]) == 0
        assert main(["--lang", "pt-BR", "status", "--bogus"]) == 2
    assert out.getvalue().startswith("uso: fdw-wizard")
    assert "mostra esta ajuda e sai" in out.getvalue() and "opções:" in out.getvalue()
    assert "show this help" not in out.getvalue()
    assert "erro: argumentos não reconhecidos: --bogus" in err.getvalue()
    out = io.StringIO()
    with redirect_stdout(out):
        main(["--lang", "en", "--help"])
    assert out.getvalue().startswith("usage: fdw-wizard")
