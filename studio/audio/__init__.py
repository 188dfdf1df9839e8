"""Qt-free audio: decode/resample, peaks, mixer, ducking, loudness, limiter, export, subtitles.

Must not import PySide6, studio.ui, torch or transformers.
"""
