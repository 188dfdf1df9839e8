"""Take-check settings in the one settings table: listed, parsed, shown as the CLI prints them."""

from __future__ import annotations

import pytest

from studio.core.project import ProjectSettings
from studio.core.settings_schema import SettingError, display, parse_change, setting_rows


def test_qa_settings_are_listed_with_defaults() -> None:
    rows = {r.key: r for r in setting_rows(ProjectSettings())}
    assert rows["qa_check"].value is True
    assert rows["qa_retries"].value == -1
    assert display(rows["qa_thresholds"].value) == "{}"
    assert "JSON" in rows["qa_thresholds"].allowed


def test_qa_settings_parse() -> None:
    settings = ProjectSettings()
    assert parse_change(settings, "qa_check", "off") == {"qa_check": False}
    assert parse_change(settings, "qa_retries", "3") == {"qa_retries": 3}
    changes = parse_change(settings, "qa_thresholds", '{"max_wer": 0.3, "max_pause": 3}')
    assert changes == {"qa_thresholds": (("max_pause", 3.0), ("max_wer", 0.3))}
    assert parse_change(settings, "qa_thresholds", "") == {"qa_thresholds": ()}
    with pytest.raises(SettingError, match="qa_retries"):
        parse_change(settings, "qa_retries", "-2")
    with pytest.raises(SettingError, match="max_wer must be a number"):
        parse_change(settings, "qa_thresholds", '{"max_wer": "high"}')
    with pytest.raises(SettingError, match="JSON object"):
        parse_change(settings, "qa_thresholds", "[1, 2]")
    shown = {r.key: r.value for r in setting_rows(ProjectSettings(qa_thresholds=(("max_wer", 0.3),)))}
    assert display(shown["qa_thresholds"]) == '{"max_wer": 0.3}'
