"""Recorded tracks: real recordings imported, transcribed, cut and patched by editing their text.

Modules:

- ``audio``     reading the recording (streamed), quiet points, zero crossings, room tone, loudness and
                spectrum matching of a patch
- ``segment``   transcript words → recorded lines (segments at pauses), the reference stretch for cloning
- ``importer``  import one recording per speaker: chunked transcription with progress and cancel, one
                undo step that adds the speaker's recorded track, its lines and clips
- ``edit``      edit by text: a line's words → its clips (cuts at word boundaries snapped to zero
                crossings, short crossfades, room tone fill); patches rendered by a cloning backend
- ``voice``     "Create voice from this speaker": a bank voice from the reference stretch

The original file is never modified: every edit is a clip operation (studio.core.ops), undoable.
Qt-free; never imports torch, faster_whisper or studio.render (the engine client is passed in).
"""
