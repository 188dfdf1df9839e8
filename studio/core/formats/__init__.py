"""Script file formats, one module per format: Higgs tagged text, screenplay text, Fountain, CSV.

Each format module offers ``parse(text) -> ParsedScript`` and ``dump(script) -> str``; the public
entry point (format detection, files, project glue) is :mod:`studio.core.script_formats`.

Pure text in, records out: must not import PySide6, studio.ui, torch or transformers, nor the
Project (only :mod:`studio.core.script_formats` knows about projects).
"""
