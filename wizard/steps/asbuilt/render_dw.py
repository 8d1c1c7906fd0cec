"""The DW sections: server, TLS, the pg_hba.conf rules, the reader role, the firewall."""

from __future__ import annotations

from typing import Any

from wizard.steps.asbuilt.common import FIREWALL_RULE
from wizard.steps.asbuilt.markdown import MarkdownWriter, at_text, cell, code, table


class DwSections(MarkdownWriter):
    """The DW server as it reads its files now."""

    def dw(self) -> None:
        dw = self.section("dw.title", "dw")
        if dw is None:
            return
        self.paragraph("dw.intro")
        pending = ", ".join(dw.get("pending_restart") or []) or self.tr("none")
        self.add(
            *table(
                [self.tr("col.setting"), self.tr("col.value")],
                [
                    [self.tr("dw.version"), cell(dw["version"])],
                    [self.tr("dw.database"), code(dw["database"])],
                    [self.tr("dw.listen"), code(dw["listen_addresses"])],
                    [self.tr("dw.port"), code(dw["port"])],
                    [self.tr("dw.password_encryption"), code(dw["password_encryption"])],
                    [self.tr("dw.pending_restart"), cell(pending)],
                    [self.tr("dw.data_directory"), code(dw["data_directory"])],
                    [self.tr("dw.config_file"), code(dw["config_file"])],
                    [self.tr("dw.hba_file"), code(dw["hba_file"])],
                ],
            )
        )
        self.tls(dw["tls"])
        self.hba(dw["hba"])
        self.reader(dw["reader"], dw.get("tables", []))
        self.heading(3, "dw.firewall")
        self.add(
            self.bullet(
                "dw.firewall_rule",
                rule=code(FIREWALL_RULE),
                created=self.yes(dw["firewall"].get("created")),
            )
        )
        self.check_lines(dw["firewall"])

    def tls(self, tls: dict[str, Any]) -> None:
        self.heading(3, "tls.title")
        cert = tls.get("cert")
        rows = [[self.tr("tls.ssl"), code(tls.get("ssl"))]]
        rows.append([self.tr("tls.cert_file"), code(tls.get("cert_setting"))])
        rows.append([self.tr("tls.key_file"), code(tls.get("key_setting"))])
        if cert:
            rows += [
                [self.tr("tls.subject"), code(cert["subject"])],
                [self.tr("tls.issuer"), code(cert["issuer"])],
                [self.tr("tls.self_signed"), self.yes(cert["self_signed"])],
                [self.tr("tls.valid_from"), cell(at_text(cert["not_before"]))],
                [
                    self.tr("tls.expires"),
                    cell(
                        self.tr(
                            "tls.expires_value",
                            at=at_text(cert["not_after"]),
                            days=cert["days_left"],
                        )
                    ),
                ],
                [self.tr("tls.names"), cell(", ".join(cert["names"]) or "-")],
                [self.tr("tls.fingerprint"), code(cert["sha256"])],
            ]
        elif tls.get("cert_error"):
            rows.append([self.tr("tls.cert_unreadable"), cell(tls["cert_error"])])
        self.add(*table([self.tr("col.item"), self.tr("col.value")], rows))
        if str(tls.get("ssl")).lower() != "on":
            self.paragraph("tls.off")

    def hba(self, hba: dict[str, Any]) -> None:
        self.heading(3, "hba.title")
        if self.error(hba):
            return
        added = hba.get("added", [])
        if not added:
            self.paragraph("hba.none", file=code(hba.get("file")))
        else:
            self.paragraph("hba.intro", file=code(hba.get("file")))
            self.add(
                *table(
                    [
                        self.tr("col.where"),
                        self.tr("col.rule"),
                        self.tr("col.added"),
                        self.tr("col.server"),
                    ],
                    [
                        [
                            code(f"{a['file']}:{a['line']}"),
                            code(a["rule"]),
                            cell(a["label"]),
                            cell(
                                self.tr("hba.server_" + a["server"])
                                + (f" ({a['server_error']})" if a.get("server_error") else "")
                            ),
                        ]
                        for a in added
                    ],
                )
            )
        for error in hba.get("errors", []):
            self.add(self.bullet("hba.server_error_line", error=cell(error)))
        if hba.get("errors"):
            self.add("")

    def reader(self, reader: dict[str, Any], tables: list[dict[str, Any]]) -> None:
        self.heading(3, "reader.title", name=reader.get("name", "?"))
        if self.error(reader):
            return
        if not reader.get("exists"):
            self.paragraph("reader.missing", name=code(reader.get("name")))
            return
        attrs = [
            name
            for name in ("superuser", "createrole", "createdb", "replication", "bypassrls")
            if reader.get(name)
        ]
        rows = [
            [self.tr("reader.login"), self.yes(reader["login"])],
            [
                self.tr("reader.password"),
                self.tr("reader.scram" if reader["scram"] else "reader.not_scram"),
            ],
            [self.tr("reader.attributes"), cell(", ".join(attrs) or self.tr("none"))],
            [self.tr("reader.limit"), cell(reader["connection_limit"])],
            [
                self.tr("reader.settings"),
                cell(", ".join(code(s) for s in reader["settings"]) or self.tr("none")),
            ],
            [self.tr("reader.member_of"), cell(", ".join(reader["member_of"]) or self.tr("none"))],
            [self.tr("reader.connect", database=reader["database"]), self.yes(reader["connect"])],
            [self.tr("reader.usage", schema=reader["schema"]), self.yes(reader["usage"])],
            [
                self.tr("reader.select", schema=reader["schema"]),
                cell(
                    self.tr("reader.count", readable=reader["readable"], total=reader["relations"])
                ),
            ],
            [
                self.tr("reader.writes"),
                cell(", ".join(reader["writable"]) if reader["writable"] else self.tr("none")),
            ],
            [
                self.tr("reader.create"),
                self.yes(reader["create_db"] or reader["create_schema"]),
            ],
            [
                self.tr("reader.defaults"),
                cell(", ".join(reader["default_select_for"]) or self.tr("none")),
            ],
        ]
        self.add(*table([self.tr("col.item"), self.tr("col.value")], rows))
        if tables:
            self.paragraph("dw.tables")
            self.add(
                *table(
                    [
                        self.tr("col.table"),
                        self.tr("col.rows_estimate"),
                        self.tr("col.size"),
                        self.tr("col.analyzed"),
                        self.tr("col.owner"),
                    ],
                    [
                        [
                            code(tb["table"]),
                            self.estimate(tb["reltuples"]),
                            self.size(tb["bytes"]),
                            cell(
                                at_text(tb["analyzed_at"])
                                if tb["analyzed_at"]
                                else self.tr("never")
                            ),
                            code(tb["owner"]),
                        ]
                        for tb in tables
                    ],
                )
            )
