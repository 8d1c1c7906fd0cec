"""The records sections: backups and the wizard's files, and how to undo each part."""

from __future__ import annotations

from wizard.steps.asbuilt.common import UNDO_PARTS
from wizard.steps.asbuilt.markdown import MarkdownWriter, cell, code, table


class RecordSections(MarkdownWriter):
    """Where the wizard's records are, and the commands that undo each part."""

    def backups(self) -> None:
        records = self.section("backups.title", "records")
        if records is None:
            return
        files = records.get("files", [])
        if files:
            self.paragraph("backups.files")
            self.add(
                *table(
                    [
                        self.tr("col.step"),
                        self.tr("col.file"),
                        self.tr("col.backup"),
                        self.tr("col.present"),
                    ],
                    [
                        [
                            code(f["step"]),
                            code(f["file"]),
                            code(f["backup"]),
                            self.yes(f["exists"]),
                        ]
                        for f in files
                    ],
                )
            )
        else:
            self.paragraph("backups.no_files")
        clientes = records.get("clientes")
        if clientes:
            self.paragraph(
                "backups.clientes",
                path=code(clientes["path"]),
                rows=self.count(clientes.get("rows")),
                sha=code(clientes.get("sha256")),
                present=self.yes(clientes["exists"]),
            )
        else:
            self.paragraph("backups.no_clientes", folder=code(records.get("backup_dir")))
        generated = records.get("generated", [])
        if generated:
            self.paragraph("backups.generated", files=", ".join(code(g) for g in generated))
        self.add(
            self.bullet("backups.state", path=code(records["state"])),
            self.bullet("backups.audit", path=code(records["audit"])),
            self.bullet("backups.measurements", path=code(records["measurements"])),
            self.bullet("backups.health", path=code(records["health_log"])),
            "",
        )

    def undo(self) -> None:
        self.heading(2, "undo.title")
        self.paragraph("undo.intro")
        config = self.facts["meta"]["config"]
        quoted = f'"{config}"' if " " in config else config
        steps = self.facts.get("steps", {})
        rows = []
        for key, only, ids in UNDO_PARTS:
            command = "fdw-wizard rollback" + (f" --only {only}" if only else "")
            command += f" --config {quoted}"
            states = [steps.get(i) for i in ids]
            present = [s for s in states if s]
            state = ", ".join(sorted({self.status(s) for s in present})) if present else "-"
            rows.append([self.tr("undo.part." + key), code(command), cell(state)])
        records = self.facts["records"]
        clientes = records.get("clientes") if "error" not in records else None
        restore = "fdw-wizard cleanup --restore " + (
            str(clientes["path"]) if clientes else "<" + self.tr("undo.backup_file") + ">"
        )
        rows.append(
            [
                self.tr("undo.part.cleanup"),
                code(restore + f" --config {quoted}"),
                cell(self.status(steps.get("cleanup.dedupe"))),
            ]
        )
        self.add(
            *table([self.tr("col.part"), self.tr("col.command"), self.tr("col.state_now")], rows)
        )
        self.paragraph("undo.notes")
