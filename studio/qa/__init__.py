"""Take checks, Qt-free: scores from a transcript and the audio, verdicts, the re-roll policy.

- ``words``   script words vs heard words: tokens, alignment, word error rate, missing/extra words
- ``signal``  what the audio alone shows: silences, clipping, level, duration
- ``scores``  :class:`TakeScores` (stored with the take as JSON), thresholds, the ok | suspect verdict
- ``check``   transcribe jobs for takes, scoring a finished transcript, the project edits that store it
- ``reroll``  how many new seeds a suspect take gets, and which take of a line is best

The transcript comes from the engine process (``TranscribeJob``); this package never imports Qt,
``studio.ui``, ``studio.render``, torch or faster_whisper.
"""
