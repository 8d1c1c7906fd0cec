"""The architecture section: a mermaid flowchart and the paths a read takes."""

from __future__ import annotations

from wizard.steps.asbuilt.markdown import MarkdownWriter, code, mermaid_text


class ArchitectureSection(MarkdownWriter):
    """The picture first: the paths from the app to the DW, to the fallback, to health."""

    def architecture(self) -> None:
        dw = self.facts["dw"]
        supa = self.facts["supabase"]
        checks = self.facts["checks"]
        self.heading(2, "arch.title")
        views = [v for v in supa.get("views", []) if v.get("enabled")]
        view_names = ", ".join(
            f"{v['schema']}.{v['name']}"
            + ("" if v.get("exists") else " " + self.tr("arch.missing"))
            for v in views
        )
        tables = supa.get("foreign_tables", [])
        schemas = ", ".join(sorted({tb["schema"] for tb in tables})) or "-"
        server = supa.get("server") or {}
        options = server.get("options", {})
        endpoint = f"{options.get('host', '?')}:{options.get('port', '?')}"
        storage = supa.get("storage", {})
        health = checks.get("health", {})
        label = {
            "app": self.tr("arch.app"),
            "api": self.tr("arch.api"),
            "views": self.tr("arch.views", views=view_names or "-"),
            "ft": self.tr("arch.foreign", schema=schemas, count=len(tables)),
            "dw": self.tr(
                "arch.dw", database=dw.get("database", "?"), version=dw.get("version", "?")
            ),
            "storage": self.tr(
                "arch.storage",
                bucket=storage.get("bucket", "?"),
                objects=self.count(storage.get("objects")),
            ),
            "health": self.tr(
                "arch.health",
                function=health.get("function", "?"),
                status=self.status(health.get("status")),
            ),
            "fdw": self.tr(
                "arch.fdw",
                server=server.get("name", "-"),
                endpoint=endpoint,
                sslmode=options.get("sslmode", "-"),
            ),
            "fallback": self.tr("arch.fallback"),
        }
        m = {key: mermaid_text(value) for key, value in label.items()}
        self.add(
            "```mermaid",
            "flowchart LR",
            f'    app["{m["app"]}"]',
            f'    api["{m["api"]}"]',
            f'    views["{m["views"]}"]',
            f'    ft["{m["ft"]}"]',
            f'    dw[("{m["dw"]}")]',
            f'    storage[("{m["storage"]}")]',
            f'    health["{m["health"]}"]',
            "    app -->|HTTPS| api",
            "    api --> views",
            "    views --> ft",
            f'    ft -->|"{m["fdw"]}"| dw',
            f'    app -.->|"{m["fallback"]}"| storage',
            "    app --> health",
            "    health --> api",
            "```",
            "",
        )
        self.add(
            self.bullet("arch.path_app", views=code(view_names or "-")),
            self.bullet("arch.path_fdw", server=code(server.get("name")), endpoint=code(endpoint)),
            self.bullet(
                "arch.path_fallback",
                bucket=code(storage.get("bucket")),
                objects=self.count(storage.get("objects")),
                size=self.size(storage.get("bytes")),
            ),
            self.bullet(
                "arch.path_health",
                function=code(health.get("function")),
                status=self.status(health.get("status")),
                message=self.say(health.get("message")),
            ),
            "",
        )
