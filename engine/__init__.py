"""The render process (`python -m engine`): hosts one backend, runs render jobs, writes takes.

Must not import studio or PySide6. torch/transformers are imported lazily by backends only.
"""
