"""Chorus studio: the desktop application (Qt lives only in studio.ui; never imports torch)."""
