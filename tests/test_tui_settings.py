"""The step detail screen's Settings panel: a real fdw-wizard.yaml edited from the keyboard,
validated inline with the engine's own config messages, saved with its comments kept, and the
app's config reloaded. No cluster is needed: nothing here connects anywhere (auto_probe off)."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, Switch

from screens.app import WizardApp
from screens.confirm import ConfirmScreen
from screens.step_detail import StepDetailScreen
from screens.step_settings import SettingsPanel, label_key, widget_id
from tests.tui_helpers import screen_text
from wizard.config import Config, load_config, save_config, template_text
from wizard.config_edit import UnsafeEdit, field_spec, set_value
from wizard.dwhost.platform.elevation import Elevation
from wizard.i18n import Message, catalog, current_language, set_language
from wizard.steps import all_steps
from wizard.testbed.sandbox import sandbox_config

ENV = {
    "keyring": None,
    "elevation": Elevation(True, "root", Message("platform.elevation.root")),
}

Scenario = Callable[[WizardApp, Pilot[Any]], Awaitable[None]]


@pytest.fixture(autouse=True)
def _restore_language() -> object:
    before = current_language()
    yield None
    set_language(before)


def template_file(tmp_path: Path) -> Path:
    path = tmp_path / "fdw-wizard.yaml"
    path.write_text(template_text(), encoding="utf-8")
    return path


def sandbox_file(tmp_path: Path) -> Path:
    """What `fdw-wizard demo` writes (loopback clusters), via wizard.config.save_config."""
    path = tmp_path / "fdw-wizard.yaml"
    config = sandbox_config(55432, 55433, tmp_path / "dw", tmp_path / "bin", "postgres")
    save_config(config, path, header="# sandbox rehearsal")
    return path


def run(path: Path, step_id: str, scenario: Scenario, lang: str = "en") -> None:
    async def main() -> None:
        app = WizardApp(
            path, lang=lang, config=load_config(path), environment=ENV, auto_probe=False
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            app.push_screen(StepDetailScreen(step_id))
            await pilot.pause()
            await scenario(app, pilot)
            assert not app.busy  # typing never started a run (a/p/u... went into the fields)
            assert not isinstance(app.screen, ConfirmScreen)

    asyncio.run(main())


async def type_into(pilot: Pilot[Any], key: str, text: str) -> None:
    """Focus the field the way the operator does (e, then Tab) and replace its content."""
    app = pilot.app
    await pilot.press("e")
    for _ in range(12):
        if app.focused is not None and app.focused.id == widget_id(key):
            break
        await pilot.press("tab")
    assert app.focused is not None and app.focused.id == widget_id(key)
    field = app.focused
    assert isinstance(field, Input)
    field.value = ""
    await pilot.press(*text)
    await pilot.pause()


def lines_changed(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_bad_cidr_shows_the_engines_message_refuses_to_save_and_follows_f2(
    tmp_path: Path,
) -> None:
    path = template_file(tmp_path)
    before = path.read_bytes()

    async def scenario(app: WizardApp, pilot: Pilot[Any]) -> None:
        assert "Settings of this step" in screen_text(app)
        await type_into(pilot, "exposure.allowed_cidrs", "203.0.113.7/24")
        expected = (
            "exposure.allowed_cidrs[0]: '203.0.113.7/24' has host bits set; "
            "did you mean 203.0.113.0/24?"
        )
        assert "[XX] " + expected in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert path.read_bytes() == before
        assert app.config is not None and app.config.exposure.allowed_cidrs == []
        await pilot.press("f2")
        await pilot.pause()
        text = screen_text(app)
        assert "Configurações desta etapa" in text and "Settings of this step" not in text
        assert (
            Message(
                "config.err.cidr_host_bits",
                {
                    "key": "exposure.allowed_cidrs[0]",
                    "value": "'203.0.113.7/24'",
                    "hint": "203.0.113.0/24",
                },
            ).render("pt-BR")
            in text
        )
        assert "separe os itens com vírgulas" in text

    run(path, "local.hba", scenario)


def test_good_edit_saves_keeps_comments_and_reloads_the_config(tmp_path: Path) -> None:
    path = template_file(tmp_path)
    before = path.read_text(encoding="utf-8")

    async def scenario(app: WizardApp, pilot: Pilot[Any]) -> None:
        await type_into(pilot, "exposure.allowed_cidrs", "10.20.0.0/16, 192.168.0.0/24")
        assert "(changed, not saved yet: Ctrl+S)" in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        after = path.read_text(encoding="utf-8")
        assert lines_changed(before, after) == [
            "-  allowed_cidrs: []",
            "+  allowed_cidrs: [10.20.0.0/16, 192.168.0.0/24]",
        ]
        assert "# PT: O Supabase não tem IP de saída fixo" in after
        assert app.config is not None
        assert app.config.exposure.allowed_cidrs == ["10.20.0.0/16", "192.168.0.0/24"]
        assert "not saved yet" not in screen_text(app)
        # Esc leaves the field first, then the screen.
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, StepDetailScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, StepDetailScreen)

    run(path, "local.hba", scenario)


def test_open_cidr_needs_the_acknowledgement_and_shows_the_honest_note(tmp_path: Path) -> None:
    path = template_file(tmp_path)

    async def scenario(app: WizardApp, pilot: Pilot[Any]) -> None:
        await type_into(pilot, "exposure.allowed_cidrs", "0.0.0.0/0")
        text = screen_text(app)
        assert (
            "[XX] exposure.allowed_cidrs: 0.0.0.0/0 opens the server to the whole Internet" in text
        )
        assert "[!!] 0.0.0.0/0 lets any address on the Internet try to log in" in text
        await pilot.press("tab")  # the acknowledgement switch, from the keyboard
        assert isinstance(app.focused, Switch)
        await pilot.press("space")
        await pilot.pause()
        assert "opens the server to the whole Internet" not in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        config = load_config(path)
        assert config.exposure.allowed_cidrs == ["0.0.0.0/0"]
        assert config.exposure.acknowledge_open_to_internet is True
        assert "# EN: Supabase has no fixed outbound IP" in path.read_text(encoding="utf-8")

    run(path, "local.hba", scenario)


def test_transaction_pooler_port_refused_and_no_password_field(tmp_path: Path) -> None:
    path = sandbox_file(tmp_path)
    before = path.read_bytes()

    async def scenario(app: WizardApp, pilot: Pilot[Any]) -> None:
        await type_into(pilot, "supabase.port", "6543")
        text = screen_text(app)
        assert "[XX] supabase.port: port 6543 is Supabase's transaction pooler" in text
        assert "fdw-wizard secrets set supabase-db" in text
        assert not any(i.password for i in app.screen.query(Input))
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert path.read_bytes() == before
        await type_into(pilot, "supabase.port", "5433")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.config is not None and app.config.supabase.port == 5433
        assert path.read_text(encoding="utf-8").startswith("# sandbox rehearsal\n")

    run(path, "prereq.supabase-connection", scenario)


def test_public_schema_shows_the_runbook_choice_warning(tmp_path: Path) -> None:
    path = template_file(tmp_path)
    note = "[!!] public is the runbook's literal choice"

    async def scenario(app: WizardApp, pilot: Pilot[Any]) -> None:
        assert note not in screen_text(app)
        await type_into(pilot, "fdw.target_schema", "public")
        assert note in screen_text(app)
        await pilot.press("f2")
        await pilot.pause()
        assert "[!!] public é a escolha literal do runbook" in screen_text(app)
        await pilot.press("f2")
        await type_into(pilot, "fdw.target_schema", "bi")
        assert note not in screen_text(app)

    run(path, "supabase.import", scenario)


def test_nested_keys_flow_mapping_and_block(tmp_path: Path) -> None:
    """views.clientes_360 is a one-line {..} mapping in the template, exposure.tls a block."""
    path = template_file(tmp_path)
    before = path.read_text(encoding="utf-8")

    async def views(app: WizardApp, pilot: Pilot[Any]) -> None:
        await pilot.press("e")
        for _ in range(4):
            if app.focused is not None and app.focused.id == widget_id(
                "views.clientes_360.security_invoker"
            ):
                break
            await pilot.press("tab")
        await pilot.press("space")
        await pilot.pause()
        assert "[!!] false is the runbook's literal view" in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.config is not None
        assert app.config.views.clientes_360.security_invoker is False
        assert app.config.views.frota_360.security_invoker is True

    run(path, "views.clientes-360", views)
    changed = lines_changed(before, path.read_text(encoding="utf-8"))
    assert len(changed) == 2 and "security_invoker: false" in changed[1]

    async def tls(app: WizardApp, pilot: Pilot[Any]) -> None:
        await pilot.press("e")
        assert isinstance(app.focused, Switch)
        await pilot.press("space")
        await pilot.pause()
        assert "[!!] Without TLS" in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.config is not None and app.config.exposure.tls.enabled is False

    run(path, "local.tls", tls)
    assert "    enabled: false\n    mode: self-signed     # self-signed | provided" in (
        path.read_text(encoding="utf-8")
    )


def test_layout_the_form_cannot_edit_is_read_only_with_the_path(tmp_path: Path) -> None:
    path = template_file(tmp_path)
    # A quoted value with '#' inside (local.host: listen_addresses can no longer hold one).
    text = template_text().replace("  host: 127.0.0.1\n", '  host: "127.0.0.1 #x"\n', 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UnsafeEdit):
        set_value(text, "local.host", "localhost")

    async def scenario(app: WizardApp, pilot: Pilot[Any]) -> None:
        panel = app.screen.query_one(SettingsPanel)
        assert panel.read_only == {"local.host"}
        assert f"change it by editing {path}" in screen_text(app)
        await pilot.press("e")
        assert app.focused is not None and app.focused.id == widget_id("local.port")

    run(path, "prereq.local-connection", scenario)


def test_block_lists_stay_block_lists() -> None:
    from wizard.config import dump_config

    text = dump_config(Config())
    new = set_value(text, "fdw.tables", ["dim_clientes", "dim_frota"])
    assert "  tables:\n  - dim_clientes\n  - dim_frota\n" in new
    assert load_tables(new) == ["dim_clientes", "dim_frota"]


def load_tables(text: str) -> list[str]:
    from wizard.config import parse_config

    return parse_config(text, Path("x.yaml")).fdw.tables


def test_every_declared_key_exists_with_descriptions_in_both_languages() -> None:
    keys = {key for step in all_steps() for key in step.settings_keys}
    assert len(keys) > 30
    for key in keys:
        spec = field_spec(key)
        assert catalog("en")[label_key(key)] == spec.description  # the model is the source
        assert catalog("pt-BR")[label_key(key)]
        assert "secret" not in spec.kind


def test_declared_risks_are_the_steps_own_and_agree_between_steps() -> None:
    """A riskier value is declared by the steps that show the key, the same way in each (the
    firewall warns about 0.0.0.0/0 as pg_hba does), and its note exists in both languages."""
    notes: dict[str, set[str]] = {}
    for step in all_steps():
        for risk in step.setting_risks:
            assert risk.key in step.settings_keys, (step.id, risk.key)
            for lang in ("en", "pt-BR"):
                assert catalog(lang)["tui.settings.warn." + risk.note]
        for key in step.settings_keys:
            declared = {r.note for r in step.setting_risks if r.key == key}
            assert notes.setdefault(key, declared) == declared, (step.id, key)


def test_first_run_keys_are_settings_and_secrets_are_ones_the_sandbox_provides() -> None:
    from wizard.testbed.sandbox import _SECRET_MAP, API_SECRETS

    provided = {*_SECRET_MAP.values(), *API_SECRETS, "reader"}
    for step in all_steps():
        assert set(step.first_run_keys) <= set(step.settings_keys), step.id
        assert set(step.secret_keys) <= provided, step.id


def test_choice_from_the_keyboard_warns_and_apply_waits_for_save(tmp_path: Path) -> None:
    path = template_file(tmp_path)

    async def scenario(app: WizardApp, pilot: Pilot[Any]) -> None:
        await pilot.press("e")
        assert isinstance(app.focused, Select)
        await pilot.press("enter", "down", "enter")
        await pilot.pause()
        text = screen_text(app)
        assert "[!!] truncate is the runbook's option 1" in text
        await pilot.press("a")  # unsaved: applying now would use the old value
        await pilot.pause()
        assert not app.busy
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.config is not None and app.config.cleanup.mode == "truncate"
        assert 'mode: "truncate"    # delete-bi-rows' in path.read_text(encoding="utf-8")

    run(path, "cleanup.dedupe", scenario)


def test_one_editor_for_cli_and_tui_keeps_quotes_comments_and_line_ends() -> None:
    """wizard.config_edit serves `secrets set` (update_section) and this panel (set_value):
    the same quoting, the same refusal of a '#' inside quotes, CRLF kept."""
    from wizard.config_edit import update_section
    from wizard.engine import StepError

    text = template_text()
    escaped = text.replace("  service: auto", '  service: "my \\"pg\\" svc"  # note', 1)
    assert escaped != text
    for new in (
        set_value(escaped, "local.service", "pg15"),
        update_section(escaped, "local", {"service": "pg15"}),
    ):
        assert '  service: "pg15"  # note' in new
    hashed = text.replace("  host: 127.0.0.1\n", '  host: "127.0.0.1 #x"\n', 1)
    with pytest.raises(StepError) as refused:
        update_section(hashed, "local", {"host": "localhost"})
    assert refused.value.message.key == "config.err.hand_edit"
    crlf = text.replace("\n", "\r\n")
    new = set_value(crlf, "exposure.tls.enabled", False)
    assert "\r\n" in new and "\n" not in new.replace("\r\n", "")
    assert len(lines_changed(crlf, new)) == 2
