"""Qt-free voice bank: the store (sqlite-utils), reference-clip import, voice packs.

Must not import PySide6, studio.ui, torch or transformers.
"""
