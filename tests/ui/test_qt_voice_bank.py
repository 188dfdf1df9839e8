"""The voice bank panel: lists and filters the bank, edits voices through it, trims clips, imports and
exports packs, auditions voices, and assigns a voice to a speaker by dragging it (one undo step)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent
from ui_fakes import FakeStream, fake_stream_factory

from studio.bank.clips import PreparedClip, prepare_clip
from studio.bank.records import BankError, Provenance, VoiceTags
from studio.bank.store import VoiceBank
from studio.core import ops
from studio.core.model import ScriptLine, Speaker, Voice, VoiceKind
from studio.core.store import ProjectFile
from studio.ui.qt_document import QtDocument
from studio.ui.qt_voice_audition import AuditionRequest
from studio.ui.qt_voice_bank import (
    VOICE_MIME,
    QtVoiceBankPanel,
    assign_voice,
    make_voice_bank_panel,
    voice_ids_from_mime,
)
from studio.ui.qt_voice_recorder import RecorderUnavailable

RATE = 24000


def speech(seconds: float, seed: int) -> np.ndarray:
    """A voiced, syllabic signal with a quarter second of silence either side."""
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 120 + 25 * seed + 15 * np.sin(2 * np.pi * 0.8 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) * np.clip(np.sin(2 * np.pi * 2.2 * t), 0, None) ** 0.5
    pad = np.zeros(RATE // 4)
    return np.concatenate([pad, 0.2 * x, pad]).astype(np.float32)


def write_clip(path: Path, seconds: float, seed: int, transcript: str | None = None) -> Path:
    sf.write(path, speech(seconds, seed), RATE)
    if transcript is not None:
        path.with_suffix(".txt").write_text(transcript, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, PreparedClip]:
    """Real clips, written with soundfile and prepared once for the module."""
    folder = tmp_path_factory.mktemp("clips")
    return {
        "ada": prepare_clip(write_clip(folder / "ada.wav", 6.0, 0), "Good evening, this is Ada."),
        "ben": prepare_clip(write_clip(folder / "ben.wav", 4.0, 2), "Ben here, ready to read."),
    }


@pytest.fixture
def bank(tmp_path: Path, clips) -> VoiceBank:
    bank = VoiceBank.open(tmp_path / "bank")
    bank.create_voice(
        "Ada",
        description="Warm narrator",
        tags=VoiceTags(gender="female", accent="british", free=("narrator",)),
        settings={"temperature": 0.7},
        provenance=Provenance(owner="Ada Owner"),
        clips=[clips["ada"]],
    )
    bank.create_voice(
        "Ben", tags=VoiceTags(gender="male", accent="american"), piper_variant=3, clips=[clips["ben"]]
    )
    bank.create_voice("Gruff", profile="Male, 60s, gravelly", tags=VoiceTags(gender="male", style="villain"))
    yield bank
    bank.close()


def voice_id(bank: VoiceBank, name: str) -> str:
    return bank.find(name).id


@pytest.fixture
def make_panel(qtbot, fake_client_factory):
    panels: list[QtVoiceBankPanel] = []

    def make(bank: VoiceBank | None = None, **kwargs) -> QtVoiceBankPanel:
        kwargs.setdefault("output_factory", fake_stream_factory)
        kwargs.setdefault("client_factory", fake_client_factory)
        kwargs.setdefault("input_factory", _no_microphone)
        kwargs.setdefault("transcriber", None)  # no engine process (test_qt_voice_reference.py hears clips)
        panel = make_voice_bank_panel(bank, **kwargs)
        qtbot.addWidget(panel)
        panel.resize(420, 900)
        panel.show()
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.shutdown()


def _no_microphone():
    raise RecorderUnavailable("No microphone (test)")


def test_lists_searches_and_filters_by_tag(make_panel, bank):
    panel = make_panel(bank)
    assert [v.name for v in panel.model.voices] == ["Ada", "Ben", "Gruff"]
    assert panel.count_label.text() == "3 voices"

    panel.set_search("gravelly")  # the text profile is searched too
    assert [v.name for v in panel.model.voices] == ["Gruff"]
    assert panel.count_label.text() == "1 of 3"
    panel.set_search("nobody")
    assert panel.visible_voice_ids() == [] and panel.empty_label.isVisibleTo(panel)
    panel.set_search("")

    panel.set_tag_filter(["gender:male"])
    assert [v.name for v in panel.model.voices] == ["Ben", "Gruff"]
    panel.set_search("ben")
    assert [v.name for v in panel.model.voices] == ["Ben"]
    panel.set_search("")
    panel.set_tag_filter([])

    # the Tags menu offers every tag in use; ticking one filters
    panel._fill_tags_menu()
    actions = {a.text(): a for a in panel.tags_menu.actions() if a.isCheckable()}
    assert {"female", "male", "british", "american", "villain", "narrator"} <= set(actions)
    actions["villain"].setChecked(True)
    assert panel.tag_filter == ("style:villain",)
    assert [v.name for v in panel.model.voices] == ["Gruff"]
    assert panel.tags_button.text() == "Tags (1)"


def test_the_list_follows_the_bank_and_other_processes(make_panel, bank, clips):
    panel = make_panel(bank)
    panel.select_voice(voice_id(bank, "Ben"))
    bank.create_voice("Cleo", tags=VoiceTags(gender="female"))  # through the same bank: announced
    assert [v.name for v in panel.model.voices] == ["Ada", "Ben", "Cleo", "Gruff"]
    assert panel.current_voice_id() == voice_id(bank, "Ben")  # the selection survives the reset
    assert panel.view.currentIndex().row() == 1

    other = VoiceBank.open(bank.root)  # another process (the CLI) writes to the bank
    try:
        other.update_voice(other.find("Gruff").id, name="Grumpy")
    finally:
        other.close()
    panel.reload_if_changed()  # what the panel's poll timer runs
    assert [v.name for v in panel.model.voices] == ["Ada", "Ben", "Cleo", "Grumpy"]

    bank.remove_voice(voice_id(bank, "Ben"))
    assert panel.current_voice_id() is None and not panel.details.isEnabled()
    assert "Ben" not in [v.name for v in panel.model.voices]


def test_details_are_written_to_the_bank_and_refusals_shown(qtbot, make_panel, bank):
    panel = make_panel(bank)
    ada = voice_id(bank, "Ada")
    panel.select_voice(ada)
    details = panel.details
    assert details.name.text() == "Ada" and details.setting_edits["temperature"].text() == "0.7"
    assert details.provenance_edits["owner"].text() == "Ada Owner"

    details.name.setText("Ada Lovelace")
    details.name.editingFinished.emit()
    assert bank.get(ada).name == "Ada Lovelace"
    assert panel.model.voices[0].name == "Ada Lovelace"  # the list follows

    details.profile.setPlainText("Female, 30s, warm")
    qtbot.keyClick(details.profile, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert bank.get(ada).profile == "Female, 30s, warm"

    details.tag_boxes["age"].setEditText("adult")
    details.free_tags.setText("narrator, calm ,  podcast")
    details.free_tags.editingFinished.emit()
    tags = bank.get(ada).tags
    assert (tags.gender, tags.age, tags.free) == ("female", "adult", ("narrator", "calm", "podcast"))

    details.setting_edits["seed"].setText("42")
    details.backend.setCurrentIndex(details.backend.findData("higgs"))
    details.backend.activated.emit(details.backend.currentIndex())
    assert bank.get(ada).settings_dict() == {"backend": "higgs", "seed": 42, "temperature": 0.7}
    details.piper_variant.setValue(5)
    assert bank.get(ada).piper_variant == 5

    details.provenance_edits["licence"].setText("CC BY 4.0")
    details.provenance_edits["licence"].editingFinished.emit()
    assert bank.get(ada).provenance == Provenance(owner="Ada Owner", licence="CC BY 4.0")

    # refusals: the reason on the status line, nothing written
    before = bank.get(ada)
    details.setting_edits["top_p"].setText("3")
    details.setting_edits["top_p"].editingFinished.emit()
    assert panel.status_is_error and "top_p must be between 0 and 1" in panel.status.text()
    details.setting_edits["top_p"].setText("")
    details.name.setText("  ")
    details.name.editingFinished.emit()
    assert "a voice needs a name" in panel.status.text()
    details.name.setText("Ben")
    details.name.editingFinished.emit()
    assert "already in the bank" in panel.status.text()
    details.provenance_edits["date"].setText("last tuesday")
    details.provenance_edits["date"].editingFinished.emit()
    assert "YYYY-MM-DD" in panel.status.text()
    assert bank.get(ada) == before
    details.provenance_edits["date"].setText("2025-02-03")
    details.provenance_edits["date"].editingFinished.emit()
    assert bank.get(ada).provenance.date == "2025-02-03" and not panel.status_is_error


def test_new_and_removed_voices(make_panel, bank):
    panel = make_panel(bank)
    new_id = panel.new_voice()
    assert bank.get(new_id).name == "New voice" and panel.current_voice_id() == new_id
    assert panel.new_voice() and bank.find("New voice 2")
    panel.select_voice(new_id)
    asked: list[str] = []
    panel.ask = lambda _parent, _title, text: asked.append(text) or False  # the user says no
    panel.remove_selected()
    assert bank.has(new_id) and "Remove New voice" in asked[0]
    panel.ask = lambda _parent, _title, _text: True
    panel.remove_selected()
    assert not bank.has(new_id) and panel.current_voice_id() is None


def test_trim_handles_replace_the_clip_with_a_shorter_one(qtbot, make_panel, bank):
    panel = make_panel(bank)
    ada = voice_id(bank, "Ada")
    panel.select_voice(ada)
    panel.details.setCurrentIndex(1)
    assert panel.jobs.wait_idle()
    (editor,) = panel.details.clip_editors
    old = bank.get(ada).clips[0]
    wave = editor.wave
    assert wave.peaks is not None and wave.duration == pytest.approx(old.duration)
    assert not editor.trim_button.isEnabled()  # nothing to trim yet

    # drag the end handle two seconds to the left, and the start handle half a second right
    y = wave.height() // 2
    qtbot.mousePress(wave, Qt.MouseButton.LeftButton, pos=QPoint(int(wave.x_of(old.duration)), y))
    qtbot.mouseMove(wave, QPoint(int(wave.x_of(old.duration - 2.0)), y))
    qtbot.mouseRelease(wave, Qt.MouseButton.LeftButton, pos=QPoint(int(wave.x_of(old.duration - 2.0)), y))
    qtbot.mousePress(wave, Qt.MouseButton.LeftButton, pos=QPoint(int(wave.x_of(0.0)), y))
    qtbot.mouseMove(wave, QPoint(int(wave.x_of(0.5)), y))
    qtbot.mouseRelease(wave, Qt.MouseButton.LeftButton, pos=QPoint(int(wave.x_of(0.5)), y))
    start, end = wave.selection
    assert start == pytest.approx(0.5, abs=0.1) and end == pytest.approx(old.duration - 2.0, abs=0.1)
    assert editor.trim_button.isEnabled()

    qtbot.mouseClick(editor.trim_button, Qt.MouseButton.LeftButton)
    assert panel.jobs.wait_idle()
    (new,) = bank.get(ada).clips
    assert new.clip_id != old.clip_id and new.transcript == old.transcript
    assert new.duration == pytest.approx(end - start, abs=0.05) and new.duration < old.duration - 2
    assert not bank.clip_path(old.clip_id).exists()  # the old clip is no longer kept
    assert "Trimmed to" in panel.status.text()
    assert panel.jobs.wait_idle()  # the new clip's waveform
    (editor,) = panel.details.clip_editors
    assert editor.clip.clip_id == new.clip_id and editor.wave.duration == pytest.approx(new.duration)


def test_clips_from_files_transcripts_and_primary(make_panel, bank, tmp_path):
    panel = make_panel(bank)
    gruff = voice_id(bank, "Gruff")
    panel.select_voice(gruff)
    assert not panel.details.no_clips.isHidden()
    good = write_clip(tmp_path / "gruff.wav", 4.0, 3, transcript="Get out of my tavern.")
    short = write_clip(tmp_path / "short.wav", 1.5, 4)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    panel.details.add_clip_files([good])
    assert panel.jobs.wait_idle()
    panel.details.add_clip_files([short])
    assert panel.jobs.wait_idle()
    voice = bank.get(gruff)
    assert [c.original_name for c in voice.clips] == ["gruff.wav", "short.wav"]
    assert voice.clips[0].transcript == "Get out of my tavern."  # from the sidecar .txt
    assert "short" in panel.status.text() and "no transcript" in panel.status.text()
    panel.details.add_clip_files([broken])
    assert panel.jobs.wait_idle()
    assert panel.status_is_error and "broken.wav" in panel.status.text()
    assert len(bank.get(gruff).clips) == 2

    editors = panel.details.clip_editors
    editors[1].transcript.setText("Aye.")
    editors[1].transcript.editingFinished.emit()
    editors = panel.details.clip_editors
    assert bank.get(gruff).clips[1].transcript == "Aye."
    editors[1].primary_button.click()
    assert [c.original_name for c in bank.get(gruff).clips] == ["short.wav", "gruff.wav"]
    panel.details.clip_editors[0].remove()
    assert [c.original_name for c in bank.get(gruff).clips] == ["gruff.wav"]


def project_with_speakers(tmp_path: Path) -> ProjectFile:
    pf = ProjectFile.create(tmp_path / "show.chorus", title="Show")
    pf.project.apply(ops.Insert(Speaker("s1", "Maya", voice=Voice(VoiceKind.PIPER, variant=1))))
    pf.project.apply(ops.Insert(Speaker("s2", "Theo", voice=Voice(VoiceKind.PIPER, variant=2))))
    pf.project.apply(ops.add_line(ScriptLine("L1", "s1", "Welcome back.")))
    return pf


def test_dragging_a_voice_onto_a_speaker_embeds_it_in_one_undo_step(make_panel, bank, tmp_path):
    doc = QtDocument(project_with_speakers(tmp_path))
    panel = make_panel(bank)
    panel.set_document(doc)
    assert panel.speakers.count() == 2 and panel.speakers.isVisibleTo(panel)
    ada = voice_id(bank, "Ada")

    mime = panel.model.mimeData([panel.model.index(panel.model.row_of(ada))])
    assert mime.hasFormat(VOICE_MIME) and voice_ids_from_mime(mime) == [ada]
    target = panel.speakers.visualItemRect(panel.speakers.item(0)).center()
    drop = QDropEvent(
        QPointF(target),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    panel.speakers.dropEvent(drop)
    assert drop.isAccepted()

    voice = doc.project.speakers["s1"].voice
    assert voice.kind == VoiceKind.CLIP and voice.bank_voice_id == ada
    assert voice.transcript == "Good evening, this is Ada." and doc.media_path(voice.clip_media).is_file()
    assert dict(voice.settings) == {"temperature": 0.7}
    assert "Maya — Ada" in panel.speakers.item(0).text()
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText() == "Assign voice Ada to Maya"

    bank.update_voice(ada, settings={"temperature": 0.3})  # the bank's voice moves on
    assert "changed in the bank" in panel.speakers.item(0).text()
    assert panel.assign("s1", ada)  # "update from bank"
    assert dict(doc.project.speakers["s1"].voice.settings) == {"temperature": 0.3}

    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.project.speakers["s1"].voice == Voice(VoiceKind.PIPER, variant=1)
    assert "Maya — Piper #1" in panel.speakers.item(0).text()  # the variant tells two hosts apart

    # a drag that carries no voice is refused
    empty = QMimeData()  # kept alive: the event only points at it
    empty.setText("just text")
    other = QDropEvent(
        QPointF(target),
        Qt.DropAction.CopyAction,
        empty,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    other.setAccepted(False)
    panel.speakers.dropEvent(other)
    assert not other.isAccepted()
    panel.set_document(None)
    assert not panel.speakers.isVisibleTo(panel)
    doc.close()


def test_assign_voice_on_a_bare_project_file(bank, tmp_path):
    pf = project_with_speakers(tmp_path)
    ben = voice_id(bank, "Ben")
    mime_ids = voice_ids_from_mime(make_mime([ben]))
    assert assign_voice(pf, "s2", bank, mime_ids[0])
    assert not assign_voice(pf, "s2", bank, ben)  # already assigned: nothing changes
    voice = pf.project.speakers["s2"].voice
    assert voice.bank_voice_id == ben and voice.variant == 3 and pf.media_path(voice.clip_media).is_file()
    with pytest.raises(BankError, match="no speaker"):
        assign_voice(pf, "nobody", bank, ben)
    root = pf.root
    pf.close()
    with ProjectFile.open(root) as again:  # committed as it happened
        assert again.project.speakers["s2"].voice.bank_voice_id == ben


def make_mime(ids):
    from studio.ui.qt_voice_bank import voice_mime_data

    return voice_mime_data(ids)


def test_audition_and_ab_requests(make_panel, bank, tmp_path):
    heard: list[AuditionRequest] = []
    panel = make_panel(bank, audition=heard.append)
    seen: list[AuditionRequest] = []
    panel.auditionRequested.connect(seen.append)
    ada, ben = voice_id(bank, "Ada"), voice_id(bank, "Ben")
    panel.select_voice(ada)
    panel.sentence.setText("Testing, one two three.")
    assert panel.audition_current()
    (request,) = heard
    assert request.text == "Testing, one two three." and request.label == "Ada"
    assert request.spec.kind == "piper"  # no project: the Piper draft of the voice
    assert request.params.temperature == pytest.approx(0.7)
    assert "Piper draft of Ada" in panel.status.text()
    assert seen == heard

    doc = QtDocument(project_with_speakers(tmp_path))
    doc.project.apply(ops.SetSettings((("backend", "higgs"),)))
    panel.set_document(doc)
    heard.clear()
    assert panel.audition_ab(ben)
    a, b = heard
    assert (a.slot, a.label, b.slot, b.label) == ("A", "Ada", "B", "Ben")
    assert a.spec.kind == "clip" and Path(a.spec.ref_audio) == bank.clip_path(bank.get(ada).clips[0].clip_id)
    assert b.spec.transcript == "Ben here, ready to read." and a.text == b.text

    panel.sentence.setText("   ")
    heard.clear()
    assert not panel.audition_current() and not heard
    assert "type a sentence" in panel.status.text()
    panel.set_document(None)
    doc.close()


def test_audition_renders_with_the_engine_and_plays(qtbot, make_panel, bank):
    panel = make_panel(bank)
    assert panel.auditioner is not None and panel.player.available
    panel.select_voice(voice_id(bank, "Ben"))
    rendered = []
    panel.auditioner.rendered.connect(lambda request, path: rendered.append((request, path)))
    assert panel.audition_current()
    qtbot.waitUntil(lambda: panel.player.playing, timeout=5000)
    ((request, path),) = rendered
    assert request.label == "Ben" and Path(path).is_file()
    assert "Playing Ben" in panel.status.text()
    stream = FakeStream.last
    audio = stream.pull(200)  # the whole take through the callback, then silence
    assert np.abs(audio).max() > 0.01 and not audio[-stream.blocksize :].any()
    qtbot.waitUntil(lambda: not panel.player.playing, timeout=2000)
    assert stream.closed


def test_import_and_export_run_on_a_worker(make_panel, bank, tmp_path):
    panel = make_panel(bank)
    ada, ben = voice_id(bank, "Ada"), voice_id(bank, "Ben")
    panel.export_pack_to(tmp_path / "two", [ada, ben])
    panel.export_presets_to(tmp_path / "presets", [ada, voice_id(bank, "Gruff")])
    assert panel.jobs.wait_idle()
    assert (tmp_path / "presets" / "config.json").is_file()
    assert "has no reference clip" in panel.status.text()  # Gruff: a profile voice
    pack = tmp_path / "two.chorusvoice"
    assert pack.is_file()

    fresh = VoiceBank.open(tmp_path / "fresh")
    other = make_panel(fresh)
    other.import_from(pack)
    assert other.jobs.wait_idle()
    assert [v.name for v in other.model.voices] == ["Ada", "Ben"]
    assert other.current_voice_id() == fresh.find("Ada").id
    assert "Imported 2 voice(s)" in other.status.text()
    other.import_from(pack)  # again: refused (no one to ask offscreen), nothing written
    assert other.jobs.wait_idle()
    assert other.status_is_error and "already in the bank" in other.status.text()
    other.import_from(pack, on_conflict="copy")
    assert other.jobs.wait_idle()
    assert [v.name for v in other.model.voices] == ["Ada", "Ada (2)", "Ben", "Ben (2)"]
    other.import_from(tmp_path / "missing.chorusvoice")
    assert other.jobs.wait_idle()
    assert "does not exist" in other.status.text()
    other.shutdown()
    fresh.close()


def test_the_default_bank_comes_from_the_environment(make_panel, tmp_path, monkeypatch):
    monkeypatch.setenv("CHORUS_VOICE_BANK", str(tmp_path / "env-bank"))
    panel = make_panel()
    assert panel.available and panel.bank.root == (tmp_path / "env-bank").resolve()
    assert "The bank is empty" in panel.empty_label.text()
    assert panel.new_voice("Solo") and panel.count_label.text() == "1 voice"
    bank = panel.bank
    panel.shutdown()  # the panel opened the bank, so it closes it
    with pytest.raises(Exception):  # noqa: B017 - sqlite3.ProgrammingError: closed database
        bank.count()


def test_a_bank_that_cannot_be_opened_is_explained(make_panel, tmp_path, monkeypatch):
    (tmp_path / "not-a-folder").write_text("x")
    monkeypatch.setenv("CHORUS_VOICE_BANK", str(tmp_path / "not-a-folder"))
    panel = make_panel()
    assert not panel.available
    assert "cannot be opened" in panel.status.text() and "is a file" in panel.status.text()
    assert panel.current_voice_id() is None and panel.visible_voice_ids() == []


def test_the_panel_renders_with_a_project_open(make_panel, bank, tmp_path):
    """A picture of the panel (left in tmp_path for whoever builds it) with clips and speakers."""
    doc = QtDocument(project_with_speakers(tmp_path))
    panel = make_panel(bank)
    panel.set_document(doc)
    panel.select_voice(voice_id(bank, "Ada"))
    assert panel.jobs.wait_idle()
    image = panel.grab()
    assert not image.isNull() and image.width() == 420
    image.save(str(tmp_path / "voice_bank.png"))
    panel.set_document(None)
    doc.close()


def test_a_clip_voice_dropped_on_a_piper_project_warns_at_once(make_panel, bank, tmp_path):
    """Issue 19 item 7: the warning comes at assignment, naming what the backend can't do and what can."""
    doc = QtDocument(project_with_speakers(tmp_path))
    assert doc.project.settings.backend == "piper"
    panel = make_panel(bank)
    panel.set_document(doc)
    assert panel.assign("s1", voice_id(bank, "Ada"))
    assert panel.status_is_error and "piper cannot speak a cloned voice" in panel.status.text()
    assert "higgs" in panel.status.text()
    panel.set_document(None)
    doc.close()


def test_no_transcript_warning_goes_when_the_transcript_is_saved(make_panel, bank, tmp_path):
    """Issue 19 item 11: "⚠ no transcript" must not outlive the transcript being saved."""
    panel = make_panel(bank)
    gruff = voice_id(bank, "Gruff")
    panel.select_voice(gruff)
    panel.details.add_clip_files([write_clip(tmp_path / "bare.wav", 4.0, 5)])
    assert panel.jobs.wait_idle()
    assert "no transcript" in panel.status.text()
    editor = panel.details.clip_editors[0]
    assert "no transcript" in editor.notes.text()
    editor.transcript.setText("Get out of my tavern.")
    editor.transcript.editingFinished.emit()
    editor = panel.details.clip_editors[0]
    assert "no transcript" not in editor.notes.text() and not editor.notes.isVisibleTo(editor)
    assert "no transcript" not in panel.status.text()
