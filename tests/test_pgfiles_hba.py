"""pg_hba.conf: byte-exact round trips, rules placed where PostgreSQL reaches them, and a real
server (PostgreSQL 15 here) confirming both the file and an actual login.

PostgreSQL 16 ``include*`` lines and backslash continuations exist only in 16+: with the 15
binaries on this machine they are tested at parse level only (hba/pg16.conf).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.corpus.pgfiles.make_corpus import CORPUS
from tests.corpus.pgfiles.support import PASSWORD, connect, corpus, swapped, tls_cluster
from wizard.dwhost.pgfiles import judge
from wizard.dwhost.pgfiles.pg_hba import HbaFile, HbaRule, InvalidHbaRule, hba_quote
from wizard.i18n import render
from wizard.testbed.pgcluster import Cluster, PgBinaries

HBA_FILES = sorted(n for n in CORPUS if n.startswith("hba/") and n.endswith(".conf"))
PG15_FILES = ["hba/edb_crlf_cp1252.conf", "hba/mixed.conf", "hba/reject.conf"]
TODAY = date(2026, 1, 15)
READER = HbaRule(
    "hostssl", ("bluconecta_dw",), ("supabase_fdw_reader",), "0.0.0.0/0", "scram-sha-256"
)


def lines_of(data: bytes) -> list[bytes]:
    return data.split(b"\n")


@pytest.mark.parametrize("name", HBA_FILES)
def test_unchanged_round_trip_is_byte_identical(name: str) -> None:
    data = corpus(name)
    hba = HbaFile.from_bytes(data)
    expected = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    assert hba.to_bytes() == expected
    assert hba.text.had_bom == (expected != data)


def test_parse_every_field_form() -> None:
    hba = HbaFile.from_bytes(corpus("hba/mixed.conf"))
    assert hba.errors == []
    rules = {r.line: r for r in hba.rules()}
    assert rules[2].conn_type == "local" and rules[2].address is None
    assert rules[4].databases == ('"bluconecta_dw"', '"outro db"')
    assert rules[4].users == ("etl", '"Maria Silva"')
    assert (rules[5].users, rules[5].address) == (("+leitores",), "samenet")
    assert (rules[6].address, rules[6].method) == ("192.168.1.0/24", "md5")  # mask + "#" glued
    assert rules[7].users == ("@admins.txt",)
    assert rules[8].address == "fe80::/10" and rules[8].method == "reject"
    assert rules[10].options == ('ldapserver=ldap.example.com', 'ldapprefix="cn="',
                                 'ldapsuffix=", dc=example, dc=net"')  # fmt: skip
    assert rules[11].databases == ('"all"',)  # quoted: a database named all
    assert rules[14].address == "0.0.0.0/0"


def test_parse_pg16_includes_and_continuation() -> None:
    hba = HbaFile.from_bytes(corpus("hba/pg16.conf"))
    kinds = [(e.line, e.kind) for e in hba.entries]
    assert kinds == [
        (1, "comment"), (2, "blank"), (3, "rule"), (4, "include"), (5, "rule"),
        (7, "include"), (8, "rule"),
    ]  # fmt: skip
    continued = hba.entries[4]
    assert (continued.start, continued.end) == (4, 6)
    assert continued.rule is not None and continued.rule.method == "scram-sha-256"
    assert hba.entries[3].include == ("include_if_exists", "extra_hba.conf")
    assert hba.entries[5].include == ("include_dir", "hba.d")
    # An include may hold anything: our rule goes in front of the first one.
    edit = hba.ensure_rule(READER, today=TODAY)
    assert edit.changed and edit.position.reason == "before"
    assert edit.position.before is not None and edit.position.before.line == 4
    assert lines_of(edit.file.to_bytes())[4].startswith(b"hostssl bluconecta_dw")


def test_first_match_is_the_first_rule_that_catches() -> None:
    hba = HbaFile.from_bytes(corpus("hba/mixed.conf"))

    def line(*args: str) -> int | None:
        found = hba.first_match(*args)
        return found.line if found else None

    assert line("nossl", "x", "postgres", "127.0.0.1") == 3
    assert line("nossl", "outro db", "Maria Silva", "10.9.8.7") == 4
    assert line("ssl", "x", "leitor", "10.9.8.7") == 5  # +group: membership unknown -> may match
    assert line("nossl", "x", "y", "192.168.1.77") == 6
    assert line("ssl", "x", "y", "192.168.1.77") == 5  # hostnossl never; +leitores may
    assert line("nossl", "x", "y", "fe80::1") == 7  # @file and samehost may match
    assert line("nossl", "x", "ldapuser", "::1") == 7
    rej = HbaFile.from_bytes(corpus("hba/reject.conf"))
    assert rej.first_match("ssl", "db", "reader", "203.0.113.9") == rej.rules()[1]
    assert rej.first_match("ssl", "db", "reader", "2001:db8::1") == rej.rules()[2]
    assert rej.first_match("ssl", "postgres", "postgres", "127.0.0.1") == rej.rules()[0]
    edb = HbaFile.from_bytes(corpus("hba/edb_crlf_cp1252.conf"))
    assert edb.first_match("ssl", "db", "reader", "203.0.113.9") is None


@pytest.mark.parametrize(
    ("name", "rule", "reason", "before_line", "new_line"),
    [
        # Nothing catches a remote TLS login on the EDB default: appended at the end.
        ("hba/edb_crlf_cp1252.conf", READER, "end", None, 19),
        # A catch-all reject: in front of it, above its own comment line.
        ("hba/reject.conf", READER, "before", 5, 5),
        # +leitores at samenet may catch our user: in front of it (conservative).
        ("hba/mixed.conf", READER, "before", 5, 6),
        # IPv4 rules never catch IPv6; ::/0 does.
        (
            "hba/reject.conf",
            HbaRule("host", ("dw",), ("bob",), "2001:db8::/64", "scram-sha-256"),
            "before",
            6,
            7,
        ),
        (
            "hba/mixed.conf",
            HbaRule("host", ("dw",), ("fdw",), "192.168.1.5/32", "scram-sha-256"),
            "before",
            7,
            8,
        ),
    ],
)
def test_ensure_rule_places_the_rule_where_it_is_reached(
    name: str, rule: HbaRule, reason: str, before_line: int | None, new_line: int
) -> None:
    data = corpus(name)
    hba = HbaFile.from_bytes(data)
    edit = hba.ensure_rule(rule, label="Supabase FDW reader", today=TODAY)
    assert edit.changed
    assert edit.position.reason == reason
    assert (edit.position.before.line if edit.position.before else None) == before_line
    assert edit.position.line == new_line
    new = edit.file.to_bytes()
    old_lines, new_lines = lines_of(data), lines_of(new)
    i = new_line - 2  # index of our comment line
    assert new_lines[:i] + new_lines[i + 2 :] == old_lines  # nothing else moved or changed
    eol = b"\r" if data.count(b"\r\n") else b""
    assert new_lines[i] == b"# fdw-wizard: Supabase FDW reader (added 2026-01-15)" + eol
    assert new_lines[i + 1] == rule.to_line().encode("ascii") + eol
    # The file now routes our connections to our rule.
    again = edit.file
    assert any(r.same_as(rule) and r.line == new_line for r in again.rules())
    # Second run: nothing to do. Undo: the original bytes.
    assert again.ensure_rule(rule, today=TODAY).changed is False
    assert again.ensure_rule(rule, today=TODAY).file.to_bytes() == new
    undone, changed = again.remove_rule(rule)
    assert changed and undone.to_bytes() == data


def test_identical_rule_spelled_differently_is_present() -> None:
    data = b'host "dw" reader 10.0.0.0 255.0.0.0 scram-sha-256\n'
    hba = HbaFile.from_bytes(data)
    rule = HbaRule("host", ("dw",), ("reader",), "10.0.0.0/8", "scram-sha-256")
    edit = hba.ensure_rule(rule)
    assert (edit.changed, edit.position.reason, edit.position.line) == (False, "present", 1)
    assert edit.file.to_bytes() == data


def test_shadowed_duplicate_is_not_enough() -> None:
    data = b"host all all 0.0.0.0/0 reject\nhost dw reader 10.0.0.0/8 scram-sha-256\n"
    rule = HbaRule("host", ("dw",), ("reader",), "10.0.0.0/8", "scram-sha-256")
    edit = HbaFile.from_bytes(data).ensure_rule(rule, today=TODAY)
    assert edit.changed and edit.position.line == 2
    undone, changed = edit.file.remove_rule(rule)  # only our marked copy goes
    assert changed and undone.to_bytes() == data


def test_partial_overlaps_are_reported_not_jumped() -> None:
    # A reject for one subnet is the operator's policy: we do not jump over it, we report it.
    data = b"host all all 10.0.0.0/8 reject\n"
    edit = HbaFile.from_bytes(data).ensure_rule(READER, today=TODAY)
    assert edit.position.reason == "end"
    assert [r.line for r in edit.position.overlaps] == [1]


def test_quoting_and_validation() -> None:
    assert hba_quote("dw") == "dw"
    assert hba_quote("all") == '"all"'
    assert hba_quote("Maria Silva") == '"Maria Silva"'
    assert hba_quote('a"b') == '"a""b"'
    assert hba_quote("+x") == '"+x"'
    hba = HbaFile.from_bytes(b"")
    for bad in (
        HbaRule("hostssl", ("dw",), ("r",), "203.0.113.5", "scram-sha-256"),  # no prefix
        HbaRule("hostssl", ("dw",), ("r",), None, "scram-sha-256"),
        HbaRule("local", ("dw",), ("r",), "10.0.0.0/8", "peer"),
        HbaRule("tcp", ("dw",), ("r",), "10.0.0.0/8", "md5"),
        HbaRule("host", ("dw",), ("Maria Silva",), "10.0.0.0/8", "md5"),  # needs hba_quote
    ):
        with pytest.raises(InvalidHbaRule) as caught:
            hba.ensure_rule(bad)
        assert render(caught.value.message, "pt-BR")
    rule = HbaRule("host", (hba_quote("all"),), (hba_quote("Maria Silva"),), "::1/128", "md5")
    edit = hba.ensure_rule(rule, label="rótulo com acento \\", today=TODAY)
    assert edit.file.to_bytes() == (
        b"# fdw-wizard: r?tulo com acento / (added 2026-01-15)\n"
        b'host    "all"           "Maria Silva"   ::1/128                 md5\n'
    )


_hba_line = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n")),
    st.sampled_from(
        [
            "host all all 127.0.0.1/32 scram-sha-256",
            "local all all peer",
            'hostssl "a b",c +g 10.0.0.0 255.0.0.0 md5#x',
            "host all all ::/0 reject",
            "host all all 0.0.0.0/0 trust \\",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_hba_line, st.sampled_from(["\n", "\r\n"])), max_size=10),
    st.booleans(),
)
def test_property_round_trip_and_undo(lines: list[tuple[str, str]], final: bool) -> None:
    text = "".join(a + b for a, b in lines)
    if not final:
        text = text.rstrip("\r\n")
    data = text.encode("utf-8")
    hba = HbaFile.from_bytes(data)
    assert hba.to_bytes() == data
    edit = hba.ensure_rule(READER, today=TODAY)
    if edit.changed:
        assert edit.file.rules()  # it parses
        undone, changed = edit.file.remove_rule(READER, only_marked=True)
        assert changed
        # Undo restores the bytes (a missing final newline may have been added on append).
        assert undone.to_bytes() in (data, data + b"\n", data + b"\r\n")


# -- a real server agrees --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(pg_bins: PgBinaries) -> Iterator[Cluster]:
    with tls_cluster(pg_bins, "fdw-pgfiles-hba-") as made:
        yield made


def server_rules(cluster: Cluster) -> list[judge.HbaFileRule]:
    with connect(cluster) as conn:
        return judge.hba_rules(conn)


def extra_files(name: str) -> dict[str, bytes]:
    return {"admins.txt": corpus("hba/admins.txt")} if name == "hba/mixed.conf" else {}


@pytest.mark.clusters
@pytest.mark.parametrize("name", PG15_FILES)
def test_server_reads_the_corpus_like_we_do(cluster: Cluster, name: str) -> None:
    data = corpus(name)
    with swapped(cluster, {"pg_hba.conf": data, **extra_files(name)}):
        rows = server_rules(cluster)
    assert [r.error for r in rows if r.error] == []
    ours = HbaFile.from_bytes(data).rules()
    assert [(r.line_number, r.type) for r in rows] == [(r.line, r.conn_type) for r in ours]


@pytest.mark.clusters
@pytest.mark.parametrize("name", PG15_FILES)
def test_server_accepts_our_rule_before_the_shadowing_one(cluster: Cluster, name: str) -> None:
    edit = HbaFile.from_bytes(corpus(name)).ensure_rule(READER, today=TODAY)
    with swapped(cluster, {"pg_hba.conf": edit.file.to_bytes(), **extra_files(name)}):
        rows = server_rules(cluster)
    assert [r.error for r in rows if r.error] == []
    ours = [r for r in rows if r.user_name == ["supabase_fdw_reader"]]
    assert len(ours) == 1 and ours[0].line_number == edit.position.line
    assert ours[0].type == "hostssl" and ours[0].database == ["bluconecta_dw"]
    if edit.position.before is not None:
        assert edit.position.before.rule is not None
        shadow = edit.position.before.line + 2  # it moved down by our two lines
        assert ours[0].line_number is not None and ours[0].line_number < shadow
        assert any(r.line_number == shadow for r in rows)


@pytest.mark.clusters
def test_bom_breaks_pg_hba_and_our_output_fixes_it(cluster: Cluster) -> None:
    data = corpus("hba/bom.conf")
    with swapped(cluster, {"pg_hba.conf": data}):
        rows = server_rules(cluster)
    assert [(r.line_number, r.error) for r in rows if r.error] == [
        (1, 'invalid connection type "\ufeff"')
    ]
    fixed = HbaFile.from_bytes(data)
    assert fixed.text.had_bom
    with swapped(cluster, {"pg_hba.conf": fixed.to_bytes()}):
        rows = server_rules(cluster)
    assert [r.error for r in rows if r.error] == []
    assert [(r.line_number, r.type) for r in rows] == [(2, "host")]


@pytest.mark.clusters
def test_real_login_reaches_the_inserted_rule(cluster: Cluster) -> None:
    """Behind a catch-all reject the reader cannot log in; after ensure_rule + reload it can,
    over TLS only (hostssl), and undo closes the door again."""
    with connect(cluster) as conn:
        conn.execute("DROP ROLE IF EXISTS fdw_reader")
        conn.execute(f"CREATE ROLE fdw_reader LOGIN PASSWORD '{PASSWORD}'")

    def login(sslmode: str) -> str:
        try:
            with connect(cluster, user="fdw_reader", sslmode=sslmode) as conn:
                row = conn.execute("SELECT current_user").fetchone()
                return str(row[0]) if row else ""
        except psycopg.OperationalError as exc:
            return "rejected" if "rejects connection" in str(exc) else str(exc)

    def install(data: bytes) -> None:
        cluster.hba_path.write_bytes(data)
        with connect(cluster) as conn:
            assert judge.hba_errors(conn) == []
            conn.execute("SELECT pg_reload_conf()")

    original = cluster.hba_path.read_bytes()
    rule = HbaRule("hostssl", ("postgres",), ("fdw_reader",), "127.0.0.1/32", "scram-sha-256")
    start = corpus("hba/reject.conf")
    try:
        install(start)
        assert login("require") == "rejected"
        naive = start + rule.to_line().encode() + b"\n"  # what a naive editor would do
        install(naive)
        assert login("require") == "rejected"
        edit = HbaFile.from_bytes(start).ensure_rule(rule, today=TODAY)
        install(edit.file.to_bytes())
        assert login("require") == "fdw_reader"
        assert login("disable") == "rejected"  # hostssl: no TLS, no entry
        undone, _ = edit.file.remove_rule(rule)
        assert undone.to_bytes() == start
        install(undone.to_bytes())
        assert login("require") == "rejected"
    finally:
        install(original)
        with connect(cluster) as conn:
            conn.execute("DROP ROLE IF EXISTS fdw_reader")
