"""Qt-free document model: records, edit operations with inverses, project file, layout, script formats.

Must not import PySide6, studio.ui, torch or transformers.
"""
