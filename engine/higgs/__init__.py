"""Higgs Audio v2 support: prompt building, text normalisation, chunking, generation loop."""
