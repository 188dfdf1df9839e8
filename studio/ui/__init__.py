"""Qt user interface: qt_*.py modules holding Qt* classes, a thin skin over core/render/audio."""
