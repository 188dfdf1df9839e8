"""A project with voices embedded from the bank renders with Higgs after the bank folder is deleted.

The whole path a user takes: bank voice (clip + transcript, and a text profile) → embedded into the
project → bank deleted, project moved → `chorus render` machinery (RenderSession + EngineClient + a real
engine process) on the tiny random Higgs checkpoint → takes on the timeline.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from higgs_tiny import FRAMES, tiny_model_dir

from studio.bank.clips import prepare_samples
from studio.bank.embed import embed_voice
from studio.bank.store import VoiceBank
from studio.core import ops
from studio.core.model import LineStatus, ScriptLine, Speaker
from studio.core.store import ProjectFile
from studio.render.client import EngineClient
from studio.render.session import RenderSession


def test_embedded_voices_render_with_the_bank_gone(tmp_path: Path) -> None:
    rate = 24000
    t = np.arange(3 * rate) / rate
    voiced = 0.2 * np.sin(2 * np.pi * 140 * t) * np.clip(np.sin(2 * np.pi * 2 * t), 0, None)
    bank = VoiceBank.open(tmp_path / "bank")
    ada = bank.create_voice(
        "Ada", clips=[prepare_samples(voiced, rate, transcript="Hello there.", name="a.wav")]
    )
    narrator = bank.create_voice("Narrator", profile="Male, British accent, calm")
    pf = ProjectFile.create(tmp_path / "show")
    pf.project.apply(ops.Insert(Speaker("s1", "Ada")))
    pf.project.apply(ops.Insert(Speaker("s2", "Narrator")))
    pf.project.apply(ops.add_line(ScriptLine("L1", "s1", "Good evening.")))
    pf.project.apply(ops.add_line(ScriptLine("L2", "s2", "And so it began.")))
    embed_voice(pf, "s1", bank, ada.id)
    embed_voice(pf, "s2", bank, narrator.id)
    options = (("model", str(tiny_model_dir())), ("device", "cpu"), ("fixed_frames", FRAMES))
    pf.project.apply(ops.set_settings(backend="higgs", backend_options=options))
    pf.close()
    bank.close()
    shutil.rmtree(tmp_path / "bank")
    moved = shutil.move(str(pf.root), str(tmp_path / "elsewhere.chorus"))

    project_file = ProjectFile.open(moved)
    session = RenderSession(project_file)
    jobs = session.prepare()
    assert len(jobs) == 2 and Path(jobs[0].voice.ref_audio).is_relative_to(Path(moved))
    client = EngineClient(backend="higgs", options=dict(options))
    try:
        client.start()
        client.submit(jobs)
        deadline = time.monotonic() + 120
        while not session.done and time.monotonic() < deadline:
            for event in client.poll(0.2):
                session.handle(event)
    finally:
        client.shutdown()
    assert session.count("done") == 2, session.failures()
    for line in project_file.project.ordered_lines():
        assert line.status == LineStatus.DONE
        take = project_file.project.selected_take(line.id)
        assert take is not None and take.sample_rate == 24000
        info = sf.info(project_file.media_path(take.media))
        assert info.samplerate == 24000 and info.frames > 0
    assert len(project_file.project.clips) == 2
    project_file.close()
