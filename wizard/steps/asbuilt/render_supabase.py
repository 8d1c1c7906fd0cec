"""The Supabase sections: FDW server, mappings, foreign tables, views, lints, read bound."""

from __future__ import annotations

from typing import Any

from wizard.steps.asbuilt.common import API_ROLES
from wizard.steps.asbuilt.markdown import MarkdownWriter, cell, code, table


class SupabaseSections(MarkdownWriter):
    """Supabase as its catalogs say now."""

    def supabase(self) -> None:
        supa = self.section("supa.title", "supabase")
        if supa is None:
            return
        self.paragraph(
            "supa.intro",
            version=supa["version"],
            database=code(supa["database"]),
            endpoint=code(f"{supa['host']}:{supa['port']}"),
        )
        self.heading(3, "supa.server")
        server = supa.get("server")
        if server is None:
            self.paragraph("supa.no_server", name=code(supa["server_name"]))
        else:
            self.paragraph(
                "supa.server_line",
                name=code(server["name"]),
                wrapper=code(server["wrapper"]),
                owner=code(server["owner"]),
            )
            self.add(
                *table(
                    [self.tr("col.option"), self.tr("col.value")],
                    [[code(k), code(v)] for k, v in sorted(server["options"].items())],
                )
            )
        usage = supa.get("server_usage", [])
        self.paragraph(
            "supa.server_usage_some" if usage else "supa.server_usage_none",
            roles=", ".join(code(r) for r in usage),
        )
        self.heading(3, "supa.mappings")
        mappings = supa.get("mappings", [])
        if not mappings:
            self.paragraph("supa.no_mappings")
        else:
            self.paragraph("supa.mappings_intro")
            self.add(
                *table(
                    [
                        self.tr("col.role"),
                        self.tr("col.remote_user"),
                        self.tr("col.password"),
                        self.tr("col.options"),
                    ],
                    [
                        [
                            code(m["role"]),
                            code(m["remote_user"]) if m["visible"] else self.tr("not_visible"),
                            self.tr("supa.password_set")
                            if "password" in m["options"]
                            else (
                                self.tr("supa.password_none")
                                if m["visible"]
                                else self.tr("not_visible")
                            ),
                            cell(
                                ", ".join(o for o in m["options"] if o not in ("user", "password"))
                                or "-"
                            ),
                        ]
                        for m in mappings
                    ],
                )
            )
        self.foreign_tables(supa)
        self.views(supa)
        self.heading(3, "supa.lints")
        lints = supa.get("lints", [])
        if not lints:
            self.paragraph("supa.no_lints")
        else:
            self.add(*["- " + self.say(m) for m in lints], "")
        checks = self.facts["checks"]
        self.heading(3, "supa.read_bound")
        if not self.error(checks):
            self.check_lines(checks["read_bound"])

    def foreign_tables(self, supa: dict[str, Any]) -> None:
        self.heading(3, "supa.tables")
        tables = supa.get("foreign_tables", [])
        exposed = supa.get("exposed_schemas", [])
        for schema, info in supa.get("schemas", {}).items():
            if not info.get("exists"):
                self.add(self.bullet("supa.schema_missing", schema=code(schema)))
                continue
            self.add(
                self.bullet(
                    "supa.schema_exposed" if schema in exposed else "supa.schema_private",
                    schema=code(schema),
                    owner=code(info["owner"]),
                    usage=", ".join(code(r) for r in info["usage"]) or self.tr("none"),
                )
            )
        readers = supa.get("table_readers", {})
        self.add(
            self.bullet(
                "supa.table_readers",
                readers=", ".join(
                    f"{code(role)} {count}/{len(tables)}" for role, count in sorted(readers.items())
                )
                or "-",
            ),
            "",
        )
        if not tables:
            self.paragraph("supa.no_tables")
            return
        dw_rows = {tb["table"]: tb for tb in self.facts["dw"].get("tables", [])}
        self.paragraph("supa.tables_intro", count=len(tables))
        self.add(
            *table(
                [
                    self.tr("col.foreign_table"),
                    self.tr("col.rows_supabase"),
                    self.tr("col.rows_dw"),
                    self.tr("col.options"),
                ],
                [
                    [
                        code(f"{tb['schema']}.{tb['table']}"),
                        self.estimate(tb["reltuples"]),
                        self.estimate(dw_rows[tb["table"]]["reltuples"])
                        if tb["table"] in dw_rows
                        else "-",
                        cell(
                            ", ".join(
                                f"{k}={v}"
                                for k, v in sorted(tb["options"].items())
                                if k not in ("schema_name", "table_name")
                            )
                            or "-"
                        ),
                    ]
                    for tb in tables
                ],
            )
        )

    def views(self, supa: dict[str, Any]) -> None:
        self.heading(3, "supa.views")
        rows = []
        notes: list[str] = []
        for view in supa.get("views", []):
            name = f"{view['schema']}.{view['name']}"
            if not view["enabled"]:
                rows.append([code(name), self.tr("supa.view_disabled"), "-", "-", "-"])
                continue
            if not view["exists"]:
                rows.append([code(name), self.tr("supa.view_missing"), "-", "-", "-"])
                notes.append(self.tr("supa.view_missing_note", view=code(name)))
                continue
            readers = view.get("readers", {})
            can = [r for r, ok in sorted(readers.items()) if ok]
            rows.append(
                [
                    code(name),
                    code(view["owner"]),
                    self.yes(view["invoker"]),
                    cell(", ".join(view["grants"]) or self.tr("none")),
                    cell(", ".join(can) or self.tr("none")),
                ]
            )
            if view["wanted_invoker"] is not None and view["invoker"] != view["wanted_invoker"]:
                notes.append(
                    self.tr(
                        "supa.view_invoker_differs",
                        view=code(name),
                        wanted=self.yes(view["wanted_invoker"]),
                    )
                )
            for role in view["wanted_grants"]:
                if not readers.get(role):
                    notes.append(
                        self.tr("supa.view_grant_missing", view=code(name), role=code(role))
                    )
            for role in can if view["configured"] else []:
                if role in API_ROLES and role not in view["wanted_grants"]:
                    notes.append(self.tr("supa.view_grant_extra", view=code(name), role=code(role)))
        self.add(
            *table(
                [
                    self.tr("col.view"),
                    self.tr("col.owner"),
                    self.tr("col.invoker"),
                    self.tr("col.grants"),
                    self.tr("col.readers"),
                ],
                rows,
            )
        )
        if notes:
            self.add(*["- **" + self.tr("attention") + "** " + n for n in notes], "")
        else:
            self.paragraph("supa.views_as_configured")
