"""postgresql.conf: byte-exact round trips, one-line edits, and a real server agreeing with us."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.corpus.pgfiles.make_corpus import CORPUS
from tests.corpus.pgfiles.support import HERE, connect, corpus, swapped, tls_cluster
from wizard.dwhost.pgfiles import judge
from wizard.dwhost.pgfiles.postgresql_conf import (
    ConfFile,
    InvalidSetting,
    SettingInIncludedFile,
    diff,
    format_value,
    parse_line,
    pg_path,
    quote_value,
)
from wizard.dwhost.pgfiles.textfile import UnencodableText
from wizard.i18n import render
from wizard.testbed.pgcluster import Cluster, PgBinaries

CONF_FILES = sorted(n for n in CORPUS if n.startswith("conf/") and n.endswith(".conf"))


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def changed_lines(old: bytes, new: bytes) -> list[int]:
    """Indexes of lines that differ, for equal-length files."""
    a, b = lines_of(old), lines_of(new)
    assert len(a) == len(b)
    return [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


# -- the corpus itself -----------------------------------------------------------------------------


def test_corpus_on_disk_is_byte_exact() -> None:
    # Catches a checkout or editor that rewrote CRLF, cp1252 or the BOM.
    for name, data in CORPUS.items():
        assert (HERE / name).read_bytes() == data, name


@pytest.mark.parametrize("name", CONF_FILES)
def test_unchanged_round_trip_is_byte_identical(name: str) -> None:
    data = corpus(name)
    conf = ConfFile.read(HERE / name)
    if data.startswith(b"\xef\xbb\xbf"):
        assert conf.text.had_bom
        assert conf.to_bytes() == data[3:]  # the BOM is the one thing never written back
    else:
        assert not conf.text.had_bom
        assert conf.to_bytes() == data


def test_encoding_and_newline_detection() -> None:
    cp = ConfFile.read(HERE / "conf/crlf_cp1252.conf")
    assert (cp.text.encoding, cp.text.newline) == ("cp1252", "\r\n")
    assert "configuração" in cp.text.lines[1].text
    utf = ConfFile.read(HERE / "conf/lf_utf8.conf")
    assert (utf.text.encoding, utf.text.newline) == ("utf-8", "\n")
    assert not utf.text.final_newline


# -- parsing like guc-file.l -----------------------------------------------------------------------


def test_parse_corner_cases() -> None:
    conf = ConfFile.read(HERE / "conf/lf_utf8.conf")
    found = conf.settings()
    assert (found["port"].value, found["port"].line) == ("5434", 6)  # PORT, the last one
    assert found["shared_buffers"].value == "32MB"  # "name value" without "="
    assert found["application_name"].value == "It's #1"  # '' and # inside quotes
    assert found["search_path"].value == '"$user", public'
    assert found["ssl_cert_file"].value == "C:/Program Files/PostgreSQL/16/data/server.crt"
    assert found["work_mem"].value == "4MB"
    assert found["maintenance_work_mem"].value == "64MB"
    assert found["log_line_prefix"].value == "%m [%p] # "
    assert conf.issues == []
    assert [s.line for s in conf.occurrences() if s.name == "port"] == [3, 6]


def test_parse_line_kinds() -> None:
    assert parse_line("").kind == "blank"
    assert parse_line("  \t\r").kind == "blank"
    assert parse_line("# x").kind == "comment"
    assert parse_line("#port = 5432  # note").commented_name == "port"
    assert parse_line("# port is the TCP port").commented_name is None
    assert parse_line("x.y = 1").name == "x.y"
    assert parse_line("a = 'C:\\new'").value == "C:\new"  # backslash escapes, as PG does
    assert parse_line("a = 'x\\101'").value == "xA"  # octal
    assert parse_line("a = b c").kind == "error"
    assert parse_line("a = 'unterminated").kind == "error"
    assert parse_line("a =").kind == "error"
    assert parse_line("a = x.y").kind == "error"  # a qualified id is not a value in guc-file.l
    assert parse_line("include 'x.conf'").kind == "include"


def test_includes_are_followed_in_c_order() -> None:
    conf = ConfFile.read(HERE / "conf/main_includes.conf")
    found = conf.settings()
    assert conf.issues == []  # include_if_exists of a missing file is not an error
    assert (found["port"].value, found["port"].file, found["port"].line) == (
        "5441",
        HERE / "conf/conf.d/10-a.conf",
        2,
    )
    assert found["effective_cache_size"].value == "2GB"  # B.conf then a.conf (byte order)
    assert found["shared_buffers"].value == "16MB"  # 02-b then 10-a
    assert found["work_mem"].file == HERE / "conf/inc/extra.conf"
    assert found["max_connections"].depth == 0
    names = [p.name for p in conf.included_files()]
    assert names == ["extra.conf", "02-b.conf", "10-a.conf", "B.conf", "a.conf"]


def test_missing_required_include_is_an_issue(tmp_path: Path) -> None:
    path = tmp_path / "postgresql.conf"
    path.write_bytes(b"include 'nope.conf'\n")
    conf = ConfFile.read(path)
    assert len(conf.issues) == 1 and conf.issues[0].line == 1
    assert "nope.conf" in render(conf.issues[0].message(), "en")


# -- edits -----------------------------------------------------------------------------------------


def test_set_changes_the_last_occurrence_only() -> None:
    data = corpus("conf/lf_utf8.conf")
    new = ConfFile.from_bytes(data).set("port", 6000).to_bytes()
    assert changed_lines(data, new) == [5]
    assert lines_of(new)[5] == b"PORT = 6000          # upper case and later: this one wins"
    assert not new.endswith(b"\n")  # the missing final newline stays missing
    assert ConfFile.from_bytes(new).get("port") == "6000"


def test_set_keeps_crlf_cp1252_and_trailing_comment() -> None:
    data = corpus("conf/crlf_cp1252.conf")
    new = ConfFile.from_bytes(data).set("listen_addresses", "localhost,192.168.0.10").to_bytes()
    assert changed_lines(data, new) == [4]
    assert lines_of(new)[4] == (
        "listen_addresses = 'localhost,192.168.0.10'\t\t# endereços que o servidor escuta\r"
    ).encode("cp1252")


def test_set_is_idempotent() -> None:
    data = corpus("conf/lf_utf8.conf")
    conf = ConfFile.from_bytes(data)
    assert conf.set("port", 5434).to_bytes() == data
    assert conf.set("PORT", "5434").to_bytes() == data
    assert conf.set("application_name", "It's #1").to_bytes() == data
    assert conf.set("ssl_cert_file", pg_path(r"C:\Program Files\PostgreSQL\16\data\server.crt"))
    twice = conf.set("port", 7000)
    assert twice.set("port", 7000).to_bytes() == twice.to_bytes()


def test_set_after_the_last_commented_default() -> None:
    data = corpus("conf/lf_utf8.conf")
    new = ConfFile.from_bytes(data).set("password_encryption", "scram-sha-256").to_bytes()
    old_lines, new_lines = lines_of(data), lines_of(new)
    assert new_lines[13] == b"password_encryption = 'scram-sha-256'"
    assert new_lines[:13] == old_lines[:13] and new_lines[14:] == old_lines[13:]

    cp = corpus("conf/crlf_cp1252.conf")
    new_cp = ConfFile.from_bytes(cp).set("ssl", True).to_bytes()
    assert lines_of(new_cp)[8] == b"ssl = on\r"  # right after "#ssl = off", in CRLF
    assert lines_of(new_cp)[:8] == lines_of(cp)[:8]
    assert lines_of(new_cp)[9:] == lines_of(cp)[8:]


def test_set_appends_and_adds_the_missing_final_newline() -> None:
    data = corpus("conf/lf_utf8.conf")
    new = ConfFile.from_bytes(data).set("cluster_name", "dw").to_bytes()
    assert new == data + b"\ncluster_name = 'dw'\n"  # text is written quoted


def test_set_refuses_a_setting_that_lives_in_an_include() -> None:
    conf = ConfFile.read(HERE / "conf/main_includes.conf")
    with pytest.raises(SettingInIncludedFile) as caught:
        conf.set("port", 6000)
    assert caught.value.setting.file == HERE / "conf/conf.d/10-a.conf"
    for lang in ("en", "pt-BR"):
        assert "10-a.conf" in render(caught.value.message, lang)
    assert conf.set("port", 5441) is conf  # already the effective value: nothing to do
    edited = conf.set("max_connections", 50)
    assert changed_lines(conf.to_bytes(), edited.to_bytes()) == [5]
    assert edited.settings()["port"].value == "5441"  # includes still followed


def test_cp1252_file_takes_latin_text_but_refuses_what_it_cannot_store() -> None:
    conf = ConfFile.from_bytes(corpus("conf/crlf_cp1252.conf"), "postgresql.conf")
    new = conf.set("cluster_name", "produção")
    assert new.to_bytes().endswith("cluster_name = 'produção'\r\n".encode("cp1252"))
    with pytest.raises(UnencodableText) as caught:
        conf.set("cluster_name", "データ")
    for lang in ("en", "pt-BR"):
        text = render(caught.value.message, lang)
        assert "postgresql.conf" in text and "デ" in text and "cp1252" in text


def test_value_helpers() -> None:
    assert quote_value("It's") == "'It''s'"
    assert quote_value("a\\b") == "'a\\\\b'"
    assert pg_path(r"C:\Program Files\PostgreSQL\16\data") == "C:/Program Files/PostgreSQL/16/data"
    assert format_value(5432) == "5432"
    assert format_value(True) == "on"
    assert format_value("on") == "on"
    assert format_value("64MB") == "64MB"
    assert format_value("*") == "'*'"
    assert format_value("scram-sha-256") == "'scram-sha-256'"
    assert format_value("") == "''"
    assert "-port = 5432\n+port = 6000\n" in diff(b"port = 5432\n", b"port = 6000\n", "pg.conf")


# -- properties ------------------------------------------------------------------------------------

_names = st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: not n.startswith("include")
)
# NUL cannot be stored (PostgreSQL reads C strings): set() refuses it, tested on its own.
_values = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20
)
_comment = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"))
_line = st.one_of(
    _comment.map(lambda c: "#" + c),
    st.just(""),
    st.text(" \t", max_size=3),
    st.tuples(_names, _values, st.sampled_from([" = ", "=", " ", "\t=\t"]), _comment).map(
        lambda t: f"{t[0]}{t[2]}{format_value(t[1])}  #{t[3]}"
    ),
)


@st.composite
def _files(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(_line, max_size=12))
    eols = draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=len(lines), max_size=len(lines)))
    text = "".join(line + eol for line, eol in zip(lines, eols, strict=True))
    if lines and draw(st.booleans()):
        text = text.rstrip("\r\n")  # no final newline
    return text.encode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_files())
def test_property_round_trip(data: bytes) -> None:
    assert ConfFile.from_bytes(data).to_bytes() == data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_files(), _names, _values)
def test_property_set_then_read(data: bytes, name: str, value: str) -> None:
    conf = ConfFile.from_bytes(data).set(name, value)
    assert conf.settings()[name].value == value
    assert conf.issues == ConfFile.from_bytes(data).issues  # no new syntax errors
    assert conf.set(name, value).to_bytes() == conf.to_bytes()


# -- a real server agrees --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(pg_bins: PgBinaries) -> Iterator[Cluster]:
    with tls_cluster(pg_bins, "fdw-pgfiles-conf-") as made:
        yield made


def server_view(cluster: Cluster) -> dict[str, tuple[str | None, str, int | None]]:
    """Winning row per name in pg_file_settings: (value, file name, line)."""
    with connect(cluster) as conn:
        rows = judge.file_settings(conn)
        assert [r for r in rows if r.error and not r.needs_restart_only] == []
    found: dict[str, tuple[str | None, str, int | None]] = {}
    for row in rows:
        if row.name is None:  # a postmaster setting the file no longer sets (restart needed)
            continue
        assert row.sourcefile is not None
        found[row.name.lower()] = (row.setting, Path(row.sourcefile).name, row.sourceline)
    return found


def our_view(conf: ConfFile, as_name: str) -> dict[str, tuple[str | None, str, int | None]]:
    return {
        name: (s.value, as_name if s.depth == 0 else Path(str(s.file)).name, s.line)
        for name, s in conf.settings().items()
    }


def port_by_postgres(cluster: Cluster) -> str:
    return judge.postgres_check(cluster.bins.bin_dir, cluster.data_dir, "port")


@pytest.mark.clusters
@pytest.mark.parametrize("name", ["conf/crlf_cp1252.conf", "conf/lf_utf8.conf"])
def test_server_reads_the_corpus_like_we_do(cluster: Cluster, name: str) -> None:
    data = corpus(name)
    conf = ConfFile.from_bytes(data)
    with swapped(cluster, {"postgresql.conf": data}):
        assert server_view(cluster) == our_view(conf, "postgresql.conf")
        assert port_by_postgres(cluster) == conf.get("port")


@pytest.mark.clusters
def test_server_follows_includes_like_we_do(cluster: Cluster) -> None:
    files = {"postgresql.conf": corpus("conf/main_includes.conf")}
    for name, data in CORPUS.items():
        if name.startswith(("conf/inc/", "conf/conf.d/")):
            files[name.removeprefix("conf/")] = data
    with swapped(cluster, files):
        conf = ConfFile.read(cluster.conf_path)
        assert server_view(cluster) == our_view(conf, "postgresql.conf")
        assert port_by_postgres(cluster) == "5441"


@pytest.mark.clusters
@pytest.mark.parametrize(
    ("name", "edits", "port"),
    [
        ("conf/lf_utf8.conf", {"port": 6001, "cluster_name": "dw #1"}, "6001"),
        ("conf/crlf_cp1252.conf", {"port": "6002", "password_encryption": "scram-sha-256"}, "6002"),
        ("conf/crlf_cp1252.conf", {"log_min_duration_statement": "250ms"}, "5432"),
    ],
)
def test_server_accepts_our_edits(
    cluster: Cluster, name: str, edits: dict[str, str | int], port: str
) -> None:
    conf = ConfFile.from_bytes(corpus(name)).set_many(edits.items())
    with swapped(cluster, {"postgresql.conf": conf.to_bytes()}):
        assert server_view(cluster) == our_view(conf, "postgresql.conf")
        assert port_by_postgres(cluster) == port


@pytest.mark.clusters
def test_bom_breaks_postgres_and_our_output_fixes_it(cluster: Cluster) -> None:
    data = corpus("conf/bom.conf")
    with swapped(cluster, {"postgresql.conf": data}):
        with pytest.raises(judge.PostgresCheckFailed) as caught:
            port_by_postgres(cluster)
        assert caught.value.code == 1 and "syntax error" in caught.value.output
        assert "line 1" in caught.value.output
        with connect(cluster) as conn:
            errors = judge.conf_errors(conn)
        assert [(e.sourceline, e.error) for e in errors] == [(1, "syntax error")]
    fixed = ConfFile.from_bytes(data)
    warning = fixed.text.bom_warning()  # the caller reports the removal
    assert warning is not None and "BOM" in render(warning, "pt-BR")
    with swapped(cluster, {"postgresql.conf": fixed.to_bytes()}):
        assert port_by_postgres(cluster) == "5432"
        assert server_view(cluster) == our_view(fixed, "postgresql.conf")


# -- values are quoted and escaped the way the server reads them (issue 10) ------------------------

HOSTILE_VALUES = [
    "It's #1",  # quote and '#': one value, not a comment
    "C:\\new\\x",  # backslashes stay backslashes (not a newline)
    "two\nlines\rand\ttab",  # a line break cannot end the line early
    "'already quoted'",
    "\\'; ssl = off #",  # cannot close the quote and add a setting
    "produção",
]


@pytest.mark.clusters
def test_server_reads_back_every_value_we_write(cluster: Cluster) -> None:
    """Each value written by set() is read by PostgreSQL (pg_file_settings and `postgres -C`)
    as exactly that value, on the one line we wrote."""
    base = b"port = 5432\n"
    conf = ConfFile.from_bytes(base)
    for index, value in enumerate(HOSTILE_VALUES):
        conf = conf.set(f"fdw_wizard.v{index}", value)
    data = conf.to_bytes()
    assert data.count(b"\n") == 1 + len(HOSTILE_VALUES)  # one physical line per value
    with swapped(cluster, {"postgresql.conf": data}):
        seen = server_view(cluster)
        for index, value in enumerate(HOSTILE_VALUES):
            assert seen[f"fdw_wizard.v{index}"][0] == value
        assert "ssl" not in seen  # the injected "ssl = off" stayed inside its value
        assert seen == our_view(conf, "postgresql.conf")
        assert (
            judge.postgres_check(cluster.bins.bin_dir, cluster.data_dir, "fdw_wizard.v1")
            == HOSTILE_VALUES[1]
        )


@pytest.mark.clusters
def test_a_quoted_value_in_an_included_file_stays_quoted(cluster: Cluster) -> None:
    """`listen_addresses = 'localhost'` in an included file, edited there (as local.listen does
    when the value in force lives in an include): the new value is written quoted, the comment
    kept, and the server reads the new value from that file."""
    main = b"include 'extra.conf'\n"
    extra = b"listen_addresses = 'localhost'   # set by the installer\nport = '5432'\n"
    with swapped(cluster, {"postgresql.conf": main, "extra.conf": extra}):
        conf = ConfFile.read(cluster.conf_path)
        with pytest.raises(SettingInIncludedFile):
            conf.set("listen_addresses", "myhost")
        included = ConfFile.read(cluster.data_dir / "extra.conf")
        edited = included.set("listen_addresses", "myhost").set("port", 5433)
        assert edited.to_bytes() == (
            b"listen_addresses = 'myhost'   # set by the installer\nport = '5433'\n"
        )
        (cluster.data_dir / "extra.conf").write_bytes(edited.to_bytes())
        seen = server_view(cluster)
        assert seen["listen_addresses"] == ("myhost", "extra.conf", 1)
        assert seen["port"][0] == "5433"


def test_nul_is_refused() -> None:
    with pytest.raises(InvalidSetting):
        ConfFile.from_bytes(b"").set("cluster_name", "a\x00b")
