"""The pgfiles corpus, spelled out as bytes so CRLF, cp1252 and the BOM survive any editor.

Run ``python tests/corpus/pgfiles/make_corpus.py`` to (re)write the files next to this script;
the tests check that the files on disk still equal these bytes (a checkout with autocrlf or an
editor that "fixes" encodings would otherwise silently change what is tested).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def _crlf(text: str, encoding: str) -> bytes:
    return text.replace("\n", "\r\n").encode(encoding)


CORPUS: dict[str, bytes] = {
    # -- postgresql.conf -------------------------------------------------------------------
    # Windows/EDB style: CRLF, cp1252 ("ANSI") comments, tabs before trailing comments.
    "conf/crlf_cp1252.conf": _crlf(
        "# -----------------------------\n"
        "# Arquivo de configuração do PostgreSQL — instalação EDB\n"
        "# -----------------------------\n"
        "\n"
        "listen_addresses = '*'\t\t# endereços que o servidor escuta\n"
        "port = 5432\t\t\t\t# (change requires restart)\n"
        "max_connections = 100\t\t\t# (change requires restart)\n"
        "#ssl = off\n"
        "#ssl_cert_file = 'server.crt'\n"
        "datestyle = 'iso, dmy'\n"
        "timezone = 'America/Sao_Paulo'\n"
        "# configuração de log\n"
        "#log_min_duration_statement = -1\t# -1 is disabled\n",
        "cp1252",
    ),
    # Linux style: LF, UTF-8 comments, every parsing corner, no final newline.
    "conf/lf_utf8.conf": (
        "# postgresql.conf — configuração de teste (UTF-8)\n"
        "#port = 5432\t\t\t\t# (change requires restart)\n"
        "port = 5433\n"
        "shared_buffers 32MB\n"
        "application_name = 'It''s #1'  # comentário depois de aspas\n"
        "PORT = 5434          # upper case and later: this one wins\n"
        "search_path = '\"$user\", public'\n"
        "ssl_cert_file = 'C:/Program Files/PostgreSQL/16/data/server.crt'\n"
        "work_mem=4MB\n"
        "\t  maintenance_work_mem = 64MB   # indented\n"
        "\n"
        "#password_encryption = md5\n"
        "#password_encryption = scram-sha-256\t# scram-sha-256 or md5\n"
        "log_line_prefix = '%m [%p] # '"
    ).encode(),
    # Notepad's "UTF-8 with BOM": PostgreSQL reports a syntax error on line 1.
    "conf/bom.conf": (
        b"\xef\xbb\xbf# salvo pelo Bloco de Notas\nport = 5432\nmax_connections = 20\n"
    ),
    # Includes, relative to the including file; include_dir in C (byte) order.
    "conf/main_includes.conf": (
        b"# main file\n"
        b"port = 5432\n"
        b"include 'inc/extra.conf'\n"
        b"include_if_exists 'missing.conf'   # not there: skipped\n"
        b"include_dir 'conf.d'\n"
        b"max_connections = 40\n"
    ),
    "conf/inc/extra.conf": b"port = 5440\nwork_mem = '8MB'\n",
    "conf/conf.d/02-b.conf": b"shared_buffers = 24MB\n",
    "conf/conf.d/10-a.conf": b"shared_buffers = 16MB\nport = 5441\n",
    # 'B' (0x42) sorts before 'a' (0x61) in C order, after it in most locales.
    "conf/conf.d/B.conf": b"effective_cache_size = 1GB\n",
    "conf/conf.d/a.conf": b"effective_cache_size = 2GB\n",
    "conf/conf.d/.hidden.conf": b"port = 9999\n",
    "conf/conf.d/notes.txt": b"port = 9998\n",
    # -- pg_hba.conf ------------------------------------------------------------------------
    # What the EDB installer leaves on Windows: CRLF, loopback only (plus a cp1252 comment).
    "hba/edb_crlf_cp1252.conf": _crlf(
        "# PostgreSQL Client Authentication Configuration File\n"
        "# ===================================================\n"
        "# (autenticação de clientes — não edite sem backup)\n"
        "\n"
        "# TYPE  DATABASE        USER            ADDRESS                 METHOD\n"
        "\n"
        '# "local" is for Unix domain socket connections only\n'
        "local   all             all                                     scram-sha-256\n"
        "# IPv4 local connections:\n"
        "host    all             all             127.0.0.1/32            scram-sha-256\n"
        "# IPv6 local connections:\n"
        "host    all             all             ::1/128                 scram-sha-256\n"
        "# Allow replication connections from localhost, by a user with the\n"
        "# replication privilege.\n"
        "local   replication     all                                     scram-sha-256\n"
        "host    replication     all             127.0.0.1/32            scram-sha-256\n"
        "host    replication     all             ::1/128                 scram-sha-256\n",
        "cp1252",
    ),
    # A catch-all reject: a rule appended at the end would never be reached.
    "hba/reject.conf": (
        b"# only the superuser from loopback; everything else is rejected\n"
        b"host    all             postgres        127.0.0.1/32            scram-sha-256\n"
        b"\n"
        b"# deny the rest\n"
        b"host    all             all             0.0.0.0/0               reject\n"
        b"host    all             all             ::/0                    reject\n"
    ),
    # Every PG15 field form.
    "hba/mixed.conf": (
        "# regras variadas (UTF-8): listas, aspas, IPv6, máscara\n"
        "local   all   all   peer\n"
        "host    all   postgres   127.0.0.1/32   scram-sha-256\n"
        'host    "bluconecta_dw","outro db"   etl,"Maria Silva"   10.0.0.0/8   scram-sha-256\n'
        "hostssl all   +leitores   samenet   scram-sha-256\n"
        "hostnossl all all 192.168.1.0 255.255.255.0 md5#comentário colado\n"
        "host    all   @admins.txt   samehost   scram-sha-256\n"
        "host    all   all   fe80::/10   reject\n"
        "hostssl sameuser all 2001:db8::/32 scram-sha-256\n"
        'host    all   ldapuser   10.2.0.0/16   ldap ldapserver=ldap.example.com ldapprefix="cn="'
        ' ldapsuffix=", dc=example, dc=net"\n'
        'host    "all"   all   .example.com   scram-sha-256\n'
        "host    replication   all   ::1/128   scram-sha-256\n"
        "\t\n"
        "host    all   all   0.0.0.0/0   reject   # the end\n"
    ).encode(),
    "hba/admins.txt": b"# roles for @admins.txt\nalice\nbob\n",
    "hba/bom.conf": (
        b"\xef\xbb\xbf# salvo pelo Bloco de Notas\n"
        b"host    all             all             127.0.0.1/32            scram-sha-256\n"
    ),
    # PostgreSQL 16 only: include lines and a backslash continuation (PG15 rejects them).
    "hba/pg16.conf": (
        b"# PG16 features\n"
        b"\n"
        b"host    all    postgres    127.0.0.1/32    scram-sha-256\n"
        b"include_if_exists extra_hba.conf\n"
        b"host    all    all    10.1.0.0/16 \\\n"
        b"        scram-sha-256\n"
        b"include_dir hba.d\n"
        b"host    all    all    0.0.0.0/0    reject\n"
    ),
}


def write_all(root: Path = HERE) -> None:
    for name, data in CORPUS.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


if __name__ == "__main__":
    write_all()
