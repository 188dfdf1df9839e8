"""engine.presets, the one reader of a vLLM voice-presets folder: what it returns, each refusal and its
message, and both callers (the server's ``load_presets``, the bank's import) refusing alike."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from engine import http_api
from engine.presets import (
    MAX_AUDIO_FILE_CHARS,
    MAX_CONFIG_BYTES,
    MAX_TEXT_CHARS,
    MAX_VOICES,
    PRESETS_CONFIG,
    Preset,
    PresetsError,
    load_presets,
)

GOOD: dict[str, Any] = {
    "anna": {"transcript": "Hello there.", "audio_file": "anna.wav"},
    "ben": {"transcript": "", "audio_file": "clips/ben.wav", "system_prompt": "Calm, low voice."},
}


def folder_with(tmp_path: Path, config: object | None = None, raw: bytes | None = None) -> Path:
    folder = tmp_path / "presets"
    (folder / "clips").mkdir(parents=True, exist_ok=True)
    (folder / "anna.wav").write_bytes(b"RIFF")
    (folder / "clips" / "ben.wav").write_bytes(b"RIFF")
    if raw is None:
        raw = json.dumps(GOOD if config is None else config, indent=2).encode()
    (folder / PRESETS_CONFIG).write_bytes(raw)
    return folder


def with_entry(name: str, **fields: object) -> dict[str, Any]:
    return {**GOOD, name: {"transcript": "Hi.", "audio_file": "anna.wav", **fields}}


def refused(folder: Path, message: str) -> str:
    with pytest.raises(PresetsError, match=message) as caught:
        load_presets(folder)
    return str(caught.value)


def test_a_good_folder_reads_in_order_with_resolved_paths(tmp_path: Path) -> None:
    folder = folder_with(tmp_path)
    presets = load_presets(folder)
    assert list(presets) == ["anna", "ben"]
    root = folder.resolve()
    assert presets["anna"] == Preset("anna", "Hello there.", str(root / "anna.wav"), "", "anna.wav")
    ben = presets["ben"]
    assert ben.audio_file == str(root / "clips" / "ben.wav") and Path(ben.audio_file).is_absolute()
    assert ben.audio_file_as_written == "clips/ben.wav"
    assert ben.transcript == "" and ben.system_prompt == "Calm, low voice."


def test_a_byte_order_mark_is_fine(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, raw=b"\xef\xbb\xbf" + json.dumps(GOOD).encode())
    assert list(load_presets(folder)) == ["anna", "ben"]


def test_a_link_to_a_file_inside_the_folder_is_fine(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, with_entry("cara", audio_file="cara.wav"))
    (folder / "cara.wav").symlink_to(folder / "anna.wav")
    assert load_presets(folder)["cara"].audio_file == str(folder.resolve() / "anna.wav")


# ---- the file ------------------------------------------------------------------------------------


def test_no_config_says_how_to_write_one(tmp_path: Path) -> None:
    message = refused(tmp_path, "has no config.json")
    assert "chorus voices export --presets" in message


def test_an_oversized_config_is_refused_unread(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, raw=b" " * (MAX_CONFIG_BYTES + 1))
    refused(
        folder, rf"config\.json is {MAX_CONFIG_BYTES + 1:,} bytes; at most {MAX_CONFIG_BYTES:,} are allowed"
    )


def test_text_that_is_not_utf8(tmp_path: Path) -> None:
    refused(folder_with(tmp_path, raw=b'{"caf\xe9": {}}'), r"config\.json is not UTF-8 text")


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, raw=b'{\n  "anna": {"transcript": "hi",\n  "audio_file": }\n}')
    refused(folder, r"config\.json is not valid JSON \(Expecting value at line 3\)")


def test_json_nested_too_deeply(tmp_path: Path) -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    refused(folder_with(tmp_path, raw=deep), "nested too deeply")


def test_a_top_level_that_is_not_an_object(tmp_path: Path) -> None:
    refused(
        folder_with(tmp_path, ["not", "a", "mapping"]),
        r"^config\.json: the top level must be an object mapping voice names to .*, not a list$",
    )


def test_too_many_voices(tmp_path: Path) -> None:
    many = {f"v{i}": {"transcript": "", "audio_file": "anna.wav"} for i in range(MAX_VOICES + 1)}
    refused(
        folder_with(tmp_path, many),
        rf"^config\.json names {MAX_VOICES + 1} voices; at most {MAX_VOICES} are allowed$",
    )


# ---- each voice ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({**GOOD, " ": {"transcript": "", "audio_file": "anna.wav"}}, r"a voice name is empty"),
        ({**GOOD, "cara": "cara.wav"}, r"^config\.json: cara must be an object .*, not a string$"),
        ({**GOOD, "cara": None}, r"^config\.json: cara must be an object .*, not null$"),
        ({**GOOD, "cara": {"audio_file": "anna.wav"}}, r"^config\.json: cara\.transcript is missing$"),
        (
            with_entry("cara", transcript=12),
            r"^config\.json: cara\.transcript must be a string, not a number$",
        ),
        (
            with_entry("cara", transcript="x" * (MAX_TEXT_CHARS + 1)),
            rf"^config\.json: cara\.transcript is {MAX_TEXT_CHARS + 1} characters long; "
            rf"at most {MAX_TEXT_CHARS} are allowed$",
        ),
        (
            with_entry("cara", system_prompt=["calm"]),
            r"^config\.json: cara\.system_prompt must be a string, not a list$",
        ),
        (
            with_entry("cara", system_prompt="x" * (MAX_TEXT_CHARS + 1)),
            r"^config\.json: cara\.system_prompt is \d+ characters long",
        ),
        ({**GOOD, "cara": {"transcript": "Hi."}}, r"^config\.json: cara\.audio_file is missing$"),
        (
            with_entry("cara", audio_file=True),
            r"^config\.json: cara\.audio_file must be a string, not a boolean$",
        ),
        (
            with_entry("cara", audio_file="a" * (MAX_AUDIO_FILE_CHARS + 1)),
            rf"^config\.json: cara\.audio_file is {MAX_AUDIO_FILE_CHARS + 1} characters long",
        ),
    ],
    ids=[
        "empty name",
        "entry is text",
        "entry is null",
        "no transcript",
        "transcript not text",
        "transcript too long",
        "system_prompt not text",
        "system_prompt too long",
        "no audio_file",
        "audio_file not text",
        "audio_file too long",
    ],
)
def test_malformed_voices(tmp_path: Path, config: object, message: str) -> None:
    refused(folder_with(tmp_path, config), message)


@pytest.mark.parametrize(
    "audio_file",
    [
        "",
        "/etc/passwd",
        "../secret.wav",
        "clips/../../secret.wav",
        "clips\\..\\..\\x.wav",
        "a\x00.wav",
        "C:\\x.wav",
        "C:x.wav",
        "\\\\server\\share\\x.wav",
    ],
    ids=[
        "empty",
        "absolute",
        "parent",
        "nested parent",
        "backslash parent",
        "NUL",
        "drive",
        "drive-relative",
        "UNC",
    ],
)
def test_audio_files_that_do_not_name_a_file_inside(tmp_path: Path, audio_file: str) -> None:
    expected = re.escape(
        f"config.json: cara.audio_file must name a file inside the presets folder, not {audio_file!r}"
    )
    refused(folder_with(tmp_path, with_entry("cara", audio_file=audio_file)), f"^{expected}$")


def test_a_link_out_of_the_folder(tmp_path: Path) -> None:
    (tmp_path / "secret.wav").write_bytes(b"RIFF")
    folder = folder_with(tmp_path, with_entry("cara", audio_file="cara.wav"))
    (folder / "cara.wav").symlink_to(tmp_path / "secret.wav")
    refused(folder, r"^config\.json: cara\.audio_file points outside the presets folder \('cara\.wav'\)$")


def test_a_link_loop(tmp_path: Path) -> None:
    folder = folder_with(tmp_path, with_entry("cara", audio_file="loop.wav"))
    os.symlink("loop2.wav", folder / "loop.wav")
    os.symlink("loop.wav", folder / "loop2.wav")
    refused(folder, r"^config\.json: cara\.audio_file: loop\.wav (cannot be followed|does not exist)")


@pytest.mark.parametrize("audio_file", ["gone.wav", "clips"], ids=["missing", "a folder"])
def test_an_audio_file_that_does_not_exist(tmp_path: Path, audio_file: str) -> None:
    folder = folder_with(tmp_path, with_entry("cara", audio_file=audio_file))
    expected = re.escape(f"config.json: cara.audio_file: {audio_file} does not exist in {folder.resolve()}")
    refused(folder, f"^{expected}$")


# ---- both callers --------------------------------------------------------------------------------


def test_the_server_reads_presets_here() -> None:
    assert http_api.load_presets is load_presets
    assert http_api.PresetsError is PresetsError and http_api.Preset is Preset


@pytest.mark.parametrize(
    "config",
    [
        with_entry("cara", audio_file="../secret.wav"),
        with_entry("cara", transcript=None),
        {"anna": []},
        [1, 2],
    ],
    ids=["outside", "transcript", "entry", "top level"],
)
def test_the_bank_refuses_with_the_same_message(tmp_path: Path, config: object) -> None:
    from studio.bank.packs import read_presets_config
    from studio.bank.records import BankError

    folder = folder_with(tmp_path, config)
    with pytest.raises(PresetsError) as engine_error:
        load_presets(folder)
    with pytest.raises(BankError) as bank_error:
        read_presets_config(folder)
    assert str(bank_error.value) == str(engine_error.value)
