"""Capture the golden token sequence of one fixed conversation with a real Higgs Audio v2 checkpoint.

Run where the real weights are (a GPU machine or any machine with the download):

    .venv/bin/python scripts/capture_higgs_golden.py [MODEL_REPO_OR_FOLDER]

writes tests/engine/data/higgs_golden_tokens.json; tests/engine/test_higgs_fidelity.py then holds Chorus
to it (prompt text always; token ids wherever that tokenizer is in the local cache).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from engine.higgs.prompt import build_conversation
from engine.protocol import RenderJob, VoiceSpec

OUT = Path(__file__).resolve().parents[1] / "tests" / "engine" / "data" / "higgs_golden_tokens.json"
# Two smart voices, a scene, a prior line as text only, numbers and a tag: the parts most likely to drift.
GOLDEN_JOB = RenderJob(
    job_id="golden",
    text="It's 9:30 on the 21st [laugh] and we have 3 guests.",
    out_path="/dev/null",
    speakers=(VoiceSpec(kind="smart"), VoiceSpec(kind="smart")),
    speaker=1,
    scene_description="A late-night radio studio.",
    language="en",
)


def golden_conversation() -> list[dict]:
    return build_conversation(GOLDEN_JOB)


def main(model: str) -> int:
    from engine.backends.higgs import HiggsBackend

    backend = HiggsBackend(options={"model": model})
    backend.load()
    processor = backend._processor
    prompt = processor.apply_chat_template(golden_conversation(), add_generation_prompt=True, tokenize=False)
    ids = processor.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    OUT.write_text(json.dumps({"model": model, "version": backend.version, "prompt": prompt, "input_ids": ids}))
    print(f"wrote {OUT} ({len(ids)} tokens)")
    return 0


if __name__ == "__main__":
    from engine.higgs.loading import DEFAULT_MODEL

    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL))
