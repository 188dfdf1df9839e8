"""Engine backends: piper (CPU default), higgs (transformers), openai (remote speech servers)."""
