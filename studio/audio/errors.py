"""Errors raised by :mod:`studio.audio`: each carries a message a user can act on.

Thread contract: plain exception classes, usable from any thread.
"""

from __future__ import annotations


class AudioError(Exception):
    """Base class of every error :mod:`studio.audio` raises on purpose."""


class DecodeError(AudioError):
    """An audio file could not be read (missing, unreadable, corrupt or not audio)."""


class MediaError(AudioError):
    """A clip's media could not be used by the mixer (names the clip, track and file)."""


class ExportError(AudioError):
    """An export could not be completed; no partial output file was left behind."""


class ExportCancelled(AudioError):
    """The export was cancelled by the user; everything it had started writing was removed."""
