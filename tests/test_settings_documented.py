"""Every setting is documented: a new one cannot ship without its line in the docs."""

from pathlib import Path

from annotask.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_is_in_the_configuration_doc():
    text = DOC.read_text()
    missing = [name for name in Settings.model_fields if f"`ANNOTASK_{name.upper()}`" not in text]
    assert not missing, f"settings missing from docs/configuration.md: {missing}"


def test_settings_have_descriptions():
    assert all(field.description for field in Settings.model_fields.values())


def test_defaults_need_no_configuration(tmp_path, monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("ANNOTASK_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.resolved_database_url.startswith("sqlite:///")
    key = settings.effective_secret_key()
    assert key and Settings().effective_secret_key() == key  # persisted, not regenerated
