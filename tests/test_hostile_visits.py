"""``linkback visits`` on files whose text would steer the terminal: an export's own channel names
and a file's name are anyone's text, and the summary shows what would steer a terminal as escapes
(as every report table does), never as the codes themselves."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from linkback.cli import app


def test_the_summary_shows_control_codes_of_an_export_and_its_name_as_escapes(tmp_path: Path) -> None:
    export = tmp_path / "plausible\x1b[31m.csv"
    export.write_text(
        "date,source,referrer,utm_source,utm_medium,utm_campaign,visitors,visits,channel\n"
        "2024-01-02,news.example,https://news.example/a,,,,3,4,\x1b]0;pwned\x07Referral\n"
        "2024-01-03,google,,,,,1,1,\x1b[2JOrganic Search\n"
        "1999-13-01,google,,,,,1,1,Organic Search\n",
        encoding="utf-8",
    )
    db = str(tmp_path / "db.duckdb")
    run = CliRunner().invoke(app, ["visits", str(export), "--host", "site.example", "--db", db],
                             env={"COLUMNS": "300"})  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "\x1b" not in run.output and "\x07" not in run.output
    assert "\\x1b]0;pwned\\x07Referral 4" in run.stdout and "\\x1b[2JOrganic Search 1" in run.stdout
    assert "plausible\\x1b[31m.csv: line 4: date '1999-13-01' is not a date" in run.stdout
