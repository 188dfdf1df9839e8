"""Qt-free studio side of rendering: take keys, which lines need work, the engine client.

Must not import PySide6, studio.ui, torch or transformers.
"""
