"""Qt-free studio side of rendering: take keys, which lines need work, the engine client, and the
studio's one engine (``shared_engine.SharedEngine``: the render queue and the voice-bank audition
submit through it, so a model is loaded once) with partial audio for playing a line while it renders
(``partial_audio``).

Must not import PySide6, studio.ui, torch or transformers.
"""
