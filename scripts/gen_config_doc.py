"""Rewrite the settings table of docs/configuration.md from the Settings class.

Run after adding a setting: ``.venv/bin/python scripts/gen_config_doc.py``.
"""

from pathlib import Path

from annotask.settings import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
HEADER = "| Variable | Default | Meaning |\n|---|---|---|\n"


def main() -> None:
    text = DOC.read_text()
    before, after = text.split(HEADER)
    rest = after[after.index("\n\n") :]
    rows = []
    for name, field in Settings.model_fields.items():
        default = "./annotask-data" if name == "data_dir" else field.default
        shown = "(empty)" if default in ("", None) else default
        rows.append(f"| `ANNOTASK_{name.upper()}` | `{shown}` | {field.description} |")
    DOC.write_text(before + HEADER + "\n".join(rows) + rest)


if __name__ == "__main__":
    main()
