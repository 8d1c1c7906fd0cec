"""The security section: each choice the runbook asks for, as it is in place now."""

from __future__ import annotations

from wizard.steps.asbuilt.markdown import MarkdownWriter, cell, code, table


class SecuritySection(MarkdownWriter):
    """One row per security choice: what is in place, and the runbook's reason."""

    def security(self) -> None:
        self.heading(2, "sec.title")
        self.paragraph("sec.intro")
        dw = self.facts["dw"]
        supa = self.facts["supabase"]
        cfg = self.facts["meta"]["config_obj"]
        rows: list[list[str]] = []
        hba = dw.get("hba", {}) if "error" not in dw else {}
        added = hba.get("added", []) if isinstance(hba, dict) else []
        rules = "; ".join(code(a["rule"]) for a in added) or self.tr("sec.no_rules")
        rows.append([self.tr("sec.hba"), rules, self.tr("sec.hba_runbook")])
        tls = dw.get("tls", {}) if "error" not in dw else {}
        server = (supa.get("server") or {}) if "error" not in supa else {}
        options = server.get("options", {})
        rows.append(
            [
                self.tr("sec.tls"),
                self.tr(
                    "sec.tls_value",
                    ssl=code(tls.get("ssl", "?")),
                    sslmode=code(options.get("sslmode", "-")),
                ),
                self.tr("sec.tls_runbook"),
            ]
        )
        tables = supa.get("foreign_tables", []) if "error" not in supa else []
        schemas = sorted({tb["schema"] for tb in tables})
        exposed = supa.get("exposed_schemas", []) if "error" not in supa else []
        rows.append(
            [
                self.tr("sec.schema"),
                self.tr(
                    "sec.schema_value",
                    schemas=", ".join(code(s) for s in schemas) or "-",
                    exposed=self.yes(any(s in exposed for s in schemas)),
                ),
                self.tr("sec.schema_runbook"),
            ]
        )
        mapped = [m["role"] for m in supa.get("mappings", [])] if "error" not in supa else []
        rows.append(
            [
                self.tr("sec.mappings"),
                ", ".join(code(r) for r in mapped) or self.tr("none"),
                self.tr("sec.mappings_runbook"),
            ]
        )
        usage = supa.get("server_usage", []) if "error" not in supa else []
        rows.append(
            [
                self.tr("sec.usage"),
                ", ".join(code(r) for r in usage) or self.tr("none"),
                self.tr("sec.usage_runbook"),
            ]
        )
        views = supa.get("views", []) if "error" not in supa else []
        rows.append(
            [
                self.tr("sec.views"),
                cell(
                    "; ".join(
                        f"{code(v['name'])}: security_invoker={self.yes(v.get('invoker'))}, "
                        + (
                            ", ".join(r for r, ok in sorted(v.get("readers", {}).items()) if ok)
                            or "-"
                        )
                        for v in views
                        if v.get("exists")
                    )
                    or "-"
                ),
                self.tr("sec.views_runbook"),
            ]
        )
        picked = ("connect_timeout", "keepalives", "tcp_user_timeout", "fetch_size", "updatable")
        rows.append(
            [
                self.tr("sec.server"),
                ", ".join(code(f"{k}={options[k]}") for k in picked if k in options) or "-",
                self.tr("sec.server_runbook"),
            ]
        )
        reader = dw.get("reader", {}) if "error" not in dw else {}
        if reader.get("exists"):
            read_only = any(
                s.lower().replace(" ", "") == "default_transaction_read_only=on"
                for s in reader.get("settings", [])
            )
            value = self.tr(
                "sec.reader_value",
                scram=self.yes(reader.get("scram")),
                read_only=self.yes(read_only),
                writes=self.yes(bool(reader.get("writable"))),
                defaults=", ".join(reader.get("default_select_for", [])) or self.tr("none"),
            )
        else:
            value = self.tr("sec.reader_missing")
        rows.append([self.tr("sec.reader"), value, self.tr("sec.reader_runbook")])
        bound = (
            self.facts["checks"].get("read_bound", {})
            if "error" not in self.facts["checks"]
            else {}
        )
        rows.append(
            [
                self.tr("sec.bound"),
                cell(self.status(bound.get("status"))),
                self.tr("sec.bound_runbook"),
            ]
        )
        rows.append(
            [
                self.tr("sec.cleanup"),
                code(getattr(getattr(cfg, "cleanup", None), "mode", "-")),
                self.tr("sec.cleanup_runbook"),
            ]
        )
        self.add(
            *table([self.tr("col.choice"), self.tr("col.in_place"), self.tr("col.runbook")], rows)
        )
