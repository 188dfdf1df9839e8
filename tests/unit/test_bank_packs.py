"""Voice packs and preset folders: round trips, conflicts, and hostile or broken input refused whole."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from studio.bank.packs import (
    MANIFEST,
    export_pack,
    export_presets,
    import_path,
    read_presets_config,
)
from studio.bank.records import BankError, Provenance, VoiceTags
from studio.bank.store import DB_NAME, VoiceBank
from studio.bank.zipsafe import SafeZip, ZipLimits


def voice_signal(seconds: float = 4.0, rate: int = 24000, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    f0 = 120 + 30 * seed + 15 * np.sin(2 * np.pi * 0.8 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) * np.clip(np.sin(2 * np.pi * 2.2 * t), 0, None) ** 0.5
    return np.concatenate([np.zeros(rate // 4), 0.2 * x, np.zeros(rate // 4)]).astype(np.float32)


def write_voice(path: Path, seed: int = 0, transcript: str | None = None) -> Path:
    sf.write(path, voice_signal(seed=seed), 24000)
    if transcript is not None:
        path.with_suffix(".txt").write_text(transcript + "\n", encoding="utf-8")
    return path


def snapshot(bank: VoiceBank) -> tuple[object, ...]:
    rows = tuple(
        tuple(tuple(r) for r in bank.db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall())
        for t in ("voices", "clips", "voice_clips")
    )
    files = tuple(
        sorted(str(p.relative_to(bank.root)) for p in bank.root.rglob("*") if not p.name.startswith(DB_NAME))
    )
    return rows + (files,)


@pytest.fixture
def source_bank(tmp_path: Path) -> VoiceBank:
    bank = VoiceBank.open(tmp_path / "source-bank")
    src = tmp_path / "src"
    src.mkdir()
    doc = src / "consent.pdf"
    doc.write_bytes(b"%PDF-1.4 consent of Ada")
    ada = bank.create_voice(
        "Ada",
        description="Warm narrator",
        tags=VoiceTags(gender="female", accent="British", free=("calm",)),
        settings={"temperature": 0.7, "top_k": 40, "backend": "higgs", "seed": 5},
        piper_model="/voices/en_GB-alba.onnx",
        piper_variant=3,
        provenance=Provenance(
            source="session 4",
            owner="Ada",
            consent="recorded consent",
            licence="CC-BY-4.0",
            date="2025-03-01",
        ),
        clips=[],
        consent_document=doc,
    )
    bank.add_clip(ada.id, write_voice(src / "ada1.wav", 0), "First take of Ada.")
    bank.add_clip(ada.id, write_voice(src / "ada2.flac", 1), "Second take.")
    bank.create_voice(
        "Narrator", profile="Male, British accent, calm, very clear audio", tags=VoiceTags(language="en")
    )
    return bank


def test_a_pack_reimported_on_a_fresh_bank_is_identical(source_bank: VoiceBank, tmp_path: Path) -> None:
    pack = export_pack(source_bank, [v.id for v in source_bank.list_voices()], tmp_path / "voices")
    assert pack.name == "voices.chorusvoice"
    fresh = VoiceBank.open(tmp_path / "fresh")
    result = import_path(fresh, pack)
    assert fresh.list_voices() == source_bank.list_voices()  # ids, names, texts, settings, clips, dates
    assert {v.name for v in result.imported} == {"Ada", "Narrator"}
    for voice in fresh.list_voices():
        for clip in voice.clips:
            assert (
                fresh.clip_path(clip.clip_id).read_bytes() == source_bank.clip_path(clip.clip_id).read_bytes()
            )
    ada = fresh.find("Ada")
    assert fresh.document_path(ada.provenance.consent_document).read_bytes() == b"%PDF-1.4 consent of Ada"
    again = export_pack(fresh, [v.id for v in fresh.list_voices()], tmp_path / "again.chorusvoice")
    with zipfile.ZipFile(pack) as one, zipfile.ZipFile(again) as two:
        first, second = json.loads(one.read(MANIFEST)), json.loads(two.read(MANIFEST))
        assert {**first, "exported": ""} == {**second, "exported": ""}
        assert sorted(one.namelist()) == sorted(two.namelist())


def test_conflicts_are_refused_skipped_replaced_or_copied(source_bank: VoiceBank, tmp_path: Path) -> None:
    pack = export_pack(source_bank, [source_bank.find("Ada").id], tmp_path / "ada.chorusvoice")
    before = snapshot(source_bank)
    with pytest.raises(BankError, match=r"already in the bank: 'Ada'.*--replace"):
        import_path(source_bank, pack)
    assert snapshot(source_bank) == before
    assert import_path(source_bank, pack, on_conflict="skip").skipped == ("Ada",)
    assert snapshot(source_bank) == before
    source_bank.update_voice(source_bank.find("Ada").id, description="changed here")
    replaced = import_path(source_bank, pack, on_conflict="replace")
    assert replaced.replaced == ("Ada",) and source_bank.find("Ada").description == "Warm narrator"
    copied = import_path(source_bank, pack, on_conflict="copy")
    assert [v.name for v in copied.imported] == ["Ada (2)"]
    assert copied.imported[0].id != source_bank.find("Ada").id
    assert copied.imported[0].clips == source_bank.find("Ada").clips
    assert len(list(source_bank.clips_dir.iterdir())) == 2  # clips shared, not duplicated


# ---- hostile archives ---------------------------------------------------------------------------


def raw_zip(path: Path, entries: list[tuple[str, int, int, int, int, bytes]]) -> Path:
    """Write a zip by hand: (name, method, crc, compressed size, declared size, data) per entry.

    Lets a test forge what zipfile would never write: absolute names, lying sizes.
    """
    body = bytearray()
    central = bytearray()
    for name, method, crc, csize, usize, data in entries:
        encoded = name.encode()
        offset = len(body)
        body += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, csize, usize, len(encoded), 0
        )
        body += encoded + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            method,
            0,
            0x21,
            crc,
            csize,
            usize,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += encoded
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), len(body), 0)
    path.write_bytes(bytes(body + central + eocd))
    return path


def deflated(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def zeros_bomb(gib: int = 1) -> tuple[bytes, int, int]:
    """A raw deflate stream that really expands to ``gib`` GiB of zeros (built in milliseconds)."""
    mib = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(mib) + c.flush(zlib.Z_FULL_FLUSH)  # byte-aligned, no history: repeatable
    end = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    count = gib * 1024
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(mib, crc)
    return block * count + end, crc, count << 20


def good_manifest(pack: Path) -> dict[str, object]:
    with zipfile.ZipFile(pack) as archive:
        data: dict[str, object] = json.loads(archive.read(MANIFEST))
        return data


def rewrite(
    pack: Path, out: Path, manifest: object | bytes | None = None, extra: dict[str, bytes] | None = None
) -> Path:
    with zipfile.ZipFile(pack) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            if name == MANIFEST and manifest is not None:
                dst.writestr(name, manifest if isinstance(manifest, bytes) else json.dumps(manifest))
            else:
                dst.writestr(name, src.read(name))
        for name, data in (extra or {}).items():
            dst.writestr(zipfile.ZipInfo(name), data)
    return out


@pytest.fixture
def pack(source_bank: VoiceBank, tmp_path: Path) -> Path:
    return export_pack(source_bank, [v.id for v in source_bank.list_voices()], tmp_path / "good.chorusvoice")


@pytest.fixture
def target(tmp_path: Path) -> VoiceBank:
    bank = VoiceBank.open(tmp_path / "target")
    bank.create_voice("Existing", profile="Someone already here")
    return bank


def refused(bank: VoiceBank, path: Path, message: str) -> None:
    before = snapshot(bank)
    with pytest.raises(BankError, match=message):
        import_path(bank, path)
    assert snapshot(bank) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("../evil.wav", "unsafe path '../evil.wav'"),
        ("clips/../../evil.wav", "points outside the pack"),
        ("/etc/evil.wav", "unsafe absolute path"),
        ("C:/evil.wav", "unsafe absolute path"),
        ("..\\evil.wav", "backslashes"),
    ],
)
def test_path_traversal_is_refused(target: VoiceBank, tmp_path: Path, name: str, message: str) -> None:
    manifest = json.dumps({"format": "chorus-voice-pack", "version": 1, "voices": [{"name": "X"}]}).encode()
    bad = raw_zip(
        tmp_path / "evil.chorusvoice",
        [
            (MANIFEST, 0, zlib.crc32(manifest), len(manifest), len(manifest), manifest),
            (name, 0, zlib.crc32(b"x"), 1, 1, b"x"),
        ],
    )
    refused(target, bad, message)


def test_a_gigabyte_zip_bomb_is_refused_before_extraction(target: VoiceBank, tmp_path: Path) -> None:
    stream, crc, size = zeros_bomb(1)
    manifest = json.dumps(
        {
            "format": "chorus-voice-pack",
            "version": 1,
            "voices": [{"name": "Bomb", "clips": [{"file": "clips/a.wav"}]}],
        }
    ).encode()
    bomb = raw_zip(
        tmp_path / "bomb.chorusvoice",
        [
            (MANIFEST, 0, zlib.crc32(manifest), len(manifest), len(manifest), manifest),
            ("clips/a.wav", 8, crc, len(stream), size, stream),
        ],
    )
    assert bomb.stat().st_size < 2 * 1024 * 1024
    refused(target, bomb, r"clips/a\.wav would expand to 1,024 MiB")


def test_a_member_lying_about_its_size_is_stopped(target: VoiceBank, tmp_path: Path) -> None:
    real = b'{"format": "chorus-voice-pack", "version": 1, "voices": [' + b" " * 5_000_000 + b"]}"
    packed = deflated(real)
    # The header claims 100 bytes (with their checksum): reading stops there, the 5 MB never appear.
    liar = raw_zip(
        tmp_path / "liar.chorusvoice", [(MANIFEST, 8, zlib.crc32(real[:100]), len(packed), 100, packed)]
    )
    with SafeZip(liar) as archive:
        assert archive.read(MANIFEST) == real[:100]
    refused(target, liar, "manifest.json is not valid JSON")
    # With the checksum of the whole stream, the truncated read no longer checks out.
    liar = raw_zip(
        tmp_path / "liar2.chorusvoice", [(MANIFEST, 8, zlib.crc32(real), len(packed), 100, packed)]
    )
    refused(target, liar, "manifest.json is damaged")


def test_compression_ratio_and_total_size_caps(tmp_path: Path) -> None:
    dense = tmp_path / "dense.zip"
    with zipfile.ZipFile(dense, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("clips/zeros.wav", bytes(2 * 1024 * 1024))
    with pytest.raises(BankError, match="compressed .* to 1"):
        SafeZip(dense)
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w", zipfile.ZIP_STORED) as archive:
        for i in range(5):
            archive.writestr(f"clips/{i}.wav", bytes(1000))
    with pytest.raises(BankError, match="would expand to more than"):
        SafeZip(many, ZipLimits(max_total_bytes=4000))
    with pytest.raises(BankError, match="holds 5 members"):
        SafeZip(many, ZipLimits(max_members=4))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda m: m["voices"][0]["settings"].update(temperature="hot"),
            r"voices\[0\]\.settings\.temperature must be a number",
        ),
        (lambda m: m["voices"][0].update(name=42), r"voices\[0\]\.name must be a string"),
        (
            lambda m: m["voices"][0]["tags"].update(gender=["f"]),
            r"voices\[0\]\.tags\.gender must be a string",
        ),
        (lambda m: m["voices"][0]["clips"][0].pop("file"), r"voices\[0\]\.clips\[0\]\.file is missing"),
        (lambda m: m["voices"][0]["clips"][0].update(sha256="zz"), r"clips\[0\]\.sha256 must be 64"),
        (
            lambda m: m["voices"][0]["piper"].update(variant="2"),
            r"voices\[0\]\.piper\.variant must be a whole number",
        ),
        (lambda m: m["voices"][0].update(clips={"a": 1}), r"voices\[0\]\.clips must be a list"),
        (lambda m: m.update(voices={"Ada": {}}), "voices must be a list"),
        (lambda m: m.update(version=99), "newer Chorus"),
        (lambda m: m.update(format="something-else"), "not a Chorus voice pack"),
        (
            lambda m: m["voices"][0]["clips"][0].update(file="clips/missing.wav"),
            "no member 'clips/missing.wav'",
        ),
    ],
)
def test_malformed_manifests_are_refused_naming_the_field(
    pack: Path, target: VoiceBank, tmp_path: Path, change: object, message: str
) -> None:
    manifest = good_manifest(pack)
    voices = manifest["voices"]
    assert isinstance(voices, list)
    manifest["voices"] = sorted(voices, key=lambda v: v["name"])  # Ada first
    change(manifest)  # type: ignore[operator]
    refused(target, rewrite(pack, tmp_path / "bad.chorusvoice", manifest), message)


def test_broken_archives_are_refused(pack: Path, target: VoiceBank, tmp_path: Path) -> None:
    refused(
        target, rewrite(pack, tmp_path / "a.chorusvoice", b"{not json"), "manifest.json is not valid JSON"
    )
    big = json.dumps({"padding": np.random.default_rng(0).bytes(1_000_000).hex()}).encode()
    refused(
        target,
        rewrite(pack, tmp_path / "b.chorusvoice", big),
        r"manifest\.json is 2,000,015 bytes; at most 1,048,576",
    )
    data = pack.read_bytes()
    (tmp_path / "cut.chorusvoice").write_bytes(data[: len(data) // 2])
    refused(target, tmp_path / "cut.chorusvoice", "not a voice pack")
    (tmp_path / "text.chorusvoice").write_text("hello")
    refused(target, tmp_path / "text.chorusvoice", "not a voice pack")
    manifest = good_manifest(pack)
    voices = manifest["voices"]
    assert isinstance(voices, list)
    clip_member = next(v for v in voices if v["clips"])["clips"][0]["file"]
    with zipfile.ZipFile(pack) as src:
        names = src.namelist()
    tampered = tmp_path / "tampered.chorusvoice"
    with zipfile.ZipFile(pack) as src, zipfile.ZipFile(tampered, "w") as dst:
        for name in names:
            payload = src.read(name)
            dst.writestr(name, payload[:-2] + b"\x01\x02" if name == clip_member else payload)
    refused(target, tampered, "checksum does not match")


# ---- Higgs voice prompts and vLLM voice presets --------------------------------------------------


def test_higgs_voice_prompts_folder_imports(target: VoiceBank, tmp_path: Path) -> None:
    folder = tmp_path / "voice_prompts"
    folder.mkdir()
    write_voice(folder / "belinda.wav", 0, "Twas the night before my birthday. Hooray!")
    write_voice(folder / "broom_salesman.wav", 1, "I would imagine so. A broom is a fine thing.")
    (folder / "en_man.txt").write_text("A transcript without audio.")
    (folder / "profile.yaml").write_text(
        "profiles:\n"
        "  male_en: Male, American accent, modern speaking rate, moderate-pitch, friendly tone, and very clear audio.\n"
        "  female_en_story: She speaks with a calm, gentle, and informative tone at a measured pace.\n",
        encoding="utf-8",
    )
    result = import_path(target, folder)
    assert sorted(v.name for v in result.imported) == [
        "belinda",
        "broom_salesman",
        "female_en_story",
        "male_en",
    ]
    belinda = target.find("belinda")
    assert (
        belinda.kind == "clip" and belinda.clips[0].transcript == "Twas the night before my birthday. Hooray!"
    )
    assert target.clip_path(belinda.clips[0].clip_id).is_file()
    male = target.find("male_en")
    assert male.kind == "profile" and male.profile.startswith("Male, American accent")
    assert any("en_man.txt" in w for w in result.warnings)


def test_a_broken_higgs_folder_imports_nothing(target: VoiceBank, tmp_path: Path) -> None:
    folder = tmp_path / "voice_prompts"
    folder.mkdir()
    write_voice(folder / "good.wav", 0, "Fine.")
    data = (folder / "good.wav").read_bytes()
    (folder / "cut.wav").write_bytes(data[: len(data) // 3])
    refused(target, folder, "cut.wav is truncated")
    (folder / "cut.wav").unlink()
    (folder / "profile.yaml").write_text("profiles:\n  male_en: [not, text]\n")
    refused(target, folder, r"profile\.yaml: profiles\.male_en must be text")
    (folder / "profile.yaml").write_text("profiles: [unclosed\n")
    refused(target, folder, "not valid YAML")


def make_presets(folder: Path) -> Path:
    folder.mkdir()
    write_voice(folder / "en_man.wav", 0)
    write_voice(folder / "old_man.wav", 2)
    config = {
        "en_man_1": {
            "transcript": "Maintaining your ability to learn translates into increased marketability.",
            "audio_file": "en_man.wav",
        },
        "old_man": {
            "transcript": "I would imagine so. A wand with a dragon heartstring core is capable of dazzling magic.",
            "audio_file": "old_man.wav",
            "system_prompt": "The style of the voice actor:\n\nA master wandmaker with an enigmatic presence.",
        },
    }
    (folder / "config.json").write_text(json.dumps(config, indent=4), encoding="utf-8")
    return folder


def test_vllm_voice_presets_import_and_export(target: VoiceBank, tmp_path: Path) -> None:
    folder = make_presets(tmp_path / "voice_presets")
    result = import_path(target, folder)
    assert sorted(v.name for v in result.imported) == ["en_man_1", "old_man"]
    en_man = target.find("en_man_1")
    assert en_man.clips[0].transcript.startswith("Maintaining your ability")
    assert target.find("old_man").profile.startswith("The style of the voice actor")
    out = tmp_path / "served"
    exported = export_presets(target, [v.id for v in target.list_voices()], out)
    assert sorted(exported.written) == ["en_man_1", "old_man"]
    assert any("Existing" in w for w in exported.warnings)  # a profile-only voice has no audio to serve
    config = read_presets_config(out)
    assert config["en_man_1"]["transcript"] == en_man.clips[0].transcript
    served = out / config["en_man_1"]["audio_file"]
    assert served.read_bytes() == target.clip_path(en_man.clips[0].clip_id).read_bytes()
    assert sf.info(served).samplerate == 24000 and sf.info(served).channels == 1
    fresh = VoiceBank.open(tmp_path / "fresh")
    again = import_path(fresh, out)
    assert sorted((v.name, v.clips[0].transcript) for v in again.imported) == sorted(
        (v.name, v.clips[0].transcript) for v in target.list_voices() if v.clips
    )


def test_bad_presets_folders_import_nothing(target: VoiceBank, tmp_path: Path) -> None:
    folder = make_presets(tmp_path / "voice_presets")
    config = json.loads((folder / "config.json").read_text())
    config["en_man_1"]["audio_file"] = "../../secret.wav"
    (folder / "config.json").write_text(json.dumps(config))
    refused(target, folder, "must name a file inside the presets folder")
    config["en_man_1"]["audio_file"] = "en_man.wav"
    config["old_man"]["transcript"] = 12
    (folder / "config.json").write_text(json.dumps(config))
    refused(target, folder, r"config\.json: old_man\.transcript must be a string")
    (folder / "config.json").write_text(json.dumps(["not", "a", "mapping"]))
    refused(target, folder, "the top level must be an object")


def test_unknown_layouts_are_explained(target: VoiceBank, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    refused(target, tmp_path / "empty", "holds no voices")
    refused(target, tmp_path / "nowhere", "does not exist")


def test_an_audio_file_is_not_taken_for_a_pack(target: VoiceBank, tmp_path: Path) -> None:
    refused(target, write_voice(tmp_path / "solo.wav"), "chorus voices add NAME --clip solo.wav")
