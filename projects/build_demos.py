"""Build the shipped demo projects from their sources (deterministic ids; run after changing a source).

    python projects/build_demos.py            # rebuilds projects/podcast.chorus and projects/tavern.chorus

The podcast: two hosts, two scenes, a synthesised music bed under them. The game scene: imported from
``sources/tavern.csv`` (three characters, line ids like TAVERN_010).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from studio.core import ops, script_formats  # noqa: E402
from studio.core.model import (  # noqa: E402
    SPEAKER_COLOURS,
    Clip,
    Ducking,
    Marker,
    Scene,
    ScriptLine,
    Speaker,
    Track,
    TrackKind,
    Voice,
    VoiceKind,
)
from studio.core.store import ProjectFile  # noqa: E402

PODCAST_LINES = [
    ("cold_open", "MAYA", "Welcome back to The Signal Chain, the show about how sound gets made. I'm Maya."),
    ("cold_open", "THEO", "And I'm Theo. Today we're talking about synthetic voices, and whether you can hear the seams."),
    ("cold_open", "MAYA", "Which is funny, because neither of us recorded this intro the usual way."),
    ("cold_open", "THEO", "No microphones were harmed in the making of this episode."),
    ("interview", "MAYA", "So let's start simple. What makes a voice sound real to you?"),
    ("interview", "THEO", "Timing, mostly. Real people pause in odd places. They speed up when they're excited."),
    ("interview", "MAYA", "And they breathe. You notice when a voice never breathes."),
    ("interview", "THEO", "Right. The second thing is consistency. A voice that drifts between sentences sounds wrong, even if every sentence is fine."),
    ("interview", "MAYA", "That's the part I find fascinating. Each line can be perfect, and the conversation still falls apart."),
    ("interview", "THEO", "Because a conversation is more than a list of lines. It has a room, a mood, a rhythm."),
    ("interview", "MAYA", "So how do you keep that rhythm when every line is rendered separately?"),
    ("interview", "THEO", "You give the model the earlier lines as context, and you keep the gaps between turns natural."),
    ("interview", "MAYA", "Half a second between speakers, a quarter between sentences. It's almost musical."),
    ("interview", "THEO", "It is musical. Speaking of which, that bed under us was written by a few lines of code."),
    ("interview", "MAYA", "That's all for this episode. Thanks for listening to The Signal Chain."),
]
PODCAST_SCENES = {
    "cold_open": Scene("scn_cold_open", "Cold open", "Two podcast hosts in a warm, quiet studio, relaxed and friendly."),
    "interview": Scene("scn_interview", "Talking voices", "A relaxed conversation between two hosts in a treated studio."),
}


def build_podcast(target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    pf = ProjectFile.create(target, title="The Signal Chain — Episode 12: Hearing the Seams")
    p = pf.project
    edits: list[object] = [
        ops.set_settings(
            artist="The Signal Chain",
            album="The Signal Chain",
            comment="Chorus demo podcast",
            lead_in=3.0,
            export_preset="podcast",
        ),
        ops.Insert(Speaker("spk_maya", "Maya", SPEAKER_COLOURS[0], Voice(VoiceKind.PIPER, variant=2))),
        ops.Insert(Speaker("spk_theo", "Theo", SPEAKER_COLOURS[1], Voice(VoiceKind.PIPER, variant=1))),
    ]
    edits += [ops.Insert(scene) for scene in PODCAST_SCENES.values()]
    for i, (scene, who, text) in enumerate(PODCAST_LINES, start=1):
        speaker = "spk_maya" if who == "MAYA" else "spk_theo"
        edits.append(ops.add_line(ScriptLine(f"EP12_{i * 10:03d}", speaker, text, scene_id=PODCAST_SCENES[scene].id)))
    edits += [
        ops.Insert(Track("trk_maya", "Maya", TrackKind.DIALOGUE, pan=-0.15, speaker_id="spk_maya")),
        ops.Insert(Track("trk_theo", "Theo", TrackKind.DIALOGUE, pan=0.15, speaker_id="spk_theo")),
        ops.Insert(Track("trk_music", "Music bed", TrackKind.MUSIC, gain_db=-6.0, ducking=Ducking(depth_db=-14.0))),
    ]
    bed = pf.add_media(HERE / "sources" / "music_bed.ogg")
    edits.append(
        ops.Insert(
            Clip("clip_bed", "trk_music", bed, start=0.0, source_out=90.0, duration=90.0, fade_in=0.5, fade_out=6.0, pinned=True)
        )
    )
    edits += [ops.Insert(Marker("mrk_open", 0.0, "Cold open")), ops.Insert(Marker("mrk_talk", 20.0, "Talking voices"))]
    p.apply(ops.Batch(tuple(edits), "Build demo"))
    pf.close()


def build_tavern(target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    pf = ProjectFile.create(target, title="The Crooked Lantern — tavern scene")
    script = script_formats.read_script(HERE / "sources" / "tavern.csv")
    pf.project.apply(script_formats.script_to_ops(pf.project, script))
    pf.project.apply(ops.set_settings(export_preset="none", artist="Chorus demo", comment="Game dialogue demo"))
    pf.close()


if __name__ == "__main__":
    build_podcast(HERE / "podcast.chorus")
    build_tavern(HERE / "tavern.chorus")
    print("built", HERE / "podcast.chorus", HERE / "tavern.chorus")
