"""Higgs Audio v2 support: prompt building, text normalisation, chunking, generation loop.

Used by :mod:`engine.backends.higgs`. Modules:

- ``text``      normalisation, number spelling and tag → ``<SE…>`` expansion (pure)
- ``prompt``    RenderJob (+ prior turns) → chat-template conversation (pure)
- ``chunking``  long lines → chunks; the bounded window of context turns (pure)
- ``guard``     per-line frame cap; silence / runaway check of finished takes (numpy)
- ``template``  the chat template for checkpoints that lack one
- ``inputs``    conversations + cached audio codes → model inputs; codes → waveform (torch, lazily)
- ``sampling``  generate() hooks: per-row frame window, cancel/progress watch (torch, lazily)
- ``loading``   find / download / check / load checkpoints, clear errors (torch, lazily)
- ``random_model`` random-weight models of the real classes for tests and benches

Must not import ``studio`` or Qt; torch/transformers only inside functions.
"""
