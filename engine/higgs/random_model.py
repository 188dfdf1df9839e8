"""Random-weight Higgs Audio v2 models of the real classes, for tests and benchmarks (never for rendering).

- :func:`build` makes a ``HiggsAudioV2ForConditionalGeneration`` + ``HiggsAudioV2Processor`` (byte-level
  BPE text tokenizer with the special tokens the chat template needs, ``HiggsAudioV2TokenizerModel``
  codec at 24 kHz / 25 fps / 8 codebooks) in memory: ``size="tiny"`` (2 layers, hidden 64 — builds and
  generates on a CPU in about a second) or ``size="full"`` (the real architecture: transformers'
  default ``HiggsAudioV2Config`` with ``codebook_size=1026`` — 28 layers, hidden 3072, 24 heads, 8 KV
  heads, head dim 128, DualFFN — and the real codec shape; GPU only).
- :func:`save_tiny` writes a tiny model the way a real checkpoint is laid out (model + processor +
  tokenizer + chat template, codec in ``audio_tokenizer/``) so tests load it through the same code path
  as a downloaded checkpoint.

torch/transformers are imported inside the functions. Not thread-safe (builds seed torch's generator).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.higgs.template import CHAT_TEMPLATE, SPECIAL_TOKENS

LLAMA3_VOCAB_SIZE = 128256
# The full-size text vocabulary is the real one's size; the test tokenizer's ids are used for the
# special tokens (the embedding rows are random either way).


def text_tokenizer() -> Any:
    """A byte-level BPE tokenizer (256 byte symbols, no merges) with the Higgs special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    fast: Any = PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tokenizer = Tokenizer(models.BPE(vocab={symbol: i for i, symbol in enumerate(alphabet)}, merges=[]))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(list(SPECIAL_TOKENS))
    return fast(
        tokenizer_object=tokenizer,
        bos_token="<|begin_of_text|>",
        eos_token="<|eot_id|>",
        pad_token="<|end_of_text|>",
    )


def model_config(tokenizer: Any, size: str = "tiny") -> Any:
    """A HiggsAudioV2Config whose special-token ids match ``tokenizer``."""
    from transformers import HiggsAudioV2Config

    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    common: dict[str, Any] = {
        "codebook_size": 1026,  # 1024 codes + stream BOS (1024) + stream EOS (1025)
        "pad_token_id": ids["<|end_of_text|>"],
        "bos_token_id": ids["<|begin_of_text|>"],
        "eos_token_id": ids["<|eot_id|>"],
        "audio_token_id": ids["<|AUDIO_OUT|>"],
        "audio_bos_token_id": ids["<|audio_out_bos|>"],
        "audio_delay_token_id": ids["<|reserved_special_token_6|>"],
    }
    if size == "full":
        return HiggsAudioV2Config(vocab_size=LLAMA3_VOCAB_SIZE, **common)
    if size != "tiny":
        raise ValueError(f"unknown model size {size!r}; use tiny or full")
    return HiggsAudioV2Config(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=4096,
        **common,
    )


def codec_config(size: str = "tiny") -> Any:
    """A HiggsAudioV2TokenizerConfig at 24 kHz, hop 960 (25 fps), 8 codebooks of 1024."""
    from transformers import DacConfig, HiggsAudioV2TokenizerConfig, HubertConfig

    dac: Any = DacConfig  # its stub lacks upsampling_ratios / hidden_size

    ratios = [8, 5, 4, 2, 3]  # hop 960, as transformers' conversion of bosonai/higgs-audio-v2-tokenizer
    bandwidths = [0.5, 1, 1.5, 2]  # 2 kbps at 25 fps × 10 bits = 8 codebooks
    if size == "full":
        return HiggsAudioV2TokenizerConfig(
            acoustic_model_config=dac(
                encoder_hidden_size=64,
                downsampling_ratios=ratios,
                decoder_hidden_size=1024,
                upsampling_ratios=ratios,
                hidden_size=256,
            ),
            semantic_model_config=HubertConfig(mask_time_prob=0.0),
            target_bandwidths=bandwidths,
        )
    return HiggsAudioV2TokenizerConfig(
        acoustic_model_config=dac(
            encoder_hidden_size=4,
            downsampling_ratios=ratios,
            decoder_hidden_size=64,
            upsampling_ratios=ratios,
            hidden_size=8,
        ),
        semantic_model_config=HubertConfig(
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            conv_dim=(8,) * 7,
            num_conv_pos_embeddings=16,
            num_conv_pos_embedding_groups=2,
            mask_time_prob=0.0,
        ),
        target_bandwidths=bandwidths,
        codebook_dim=8,
    )


def build(
    size: str = "tiny", *, device: str = "cpu", dtype: Any = None, seed: int = 0, codec: Any = None
) -> tuple[Any, Any]:
    """(model, processor) with random weights; the model in ``dtype`` (default fp32) on ``device``.

    The codec stays in float32. ``codec`` reuses an existing audio tokenizer model.
    """
    import torch
    from transformers import (
        DacFeatureExtractor,
        HiggsAudioV2ForConditionalGeneration,
        HiggsAudioV2Processor,
        HiggsAudioV2TokenizerModel,
    )

    torch.manual_seed(seed)
    tokenizer = text_tokenizer()
    config = model_config(tokenizer, size)
    model_class: Any = HiggsAudioV2ForConditionalGeneration
    with torch.device(device):
        model = model_class._from_config(config, dtype=dtype or torch.float32)
    model.eval()
    generation = model.generation_config
    generation._from_model_config = False  # or the RAS keys are dropped when saved and reloaded
    generation.bos_token_id = config.bos_token_id
    generation.eos_token_id = config.eos_token_id
    generation.pad_token_id = config.pad_token_id
    generation.ras_win_len = 7
    generation.ras_win_max_num_repeat = 2
    if codec is None:
        with torch.device(device):
            codec = HiggsAudioV2TokenizerModel(codec_config(size))
        codec.eval()
    extractor = DacFeatureExtractor(
        feature_size=1,
        hop_length=1,
        padding_side="right",
        padding_value=0.0,
        sampling_rate=24000,
        return_attention_mask=True,
    )
    processor_class: Any = HiggsAudioV2Processor
    processor = processor_class(extractor, tokenizer, codec, chat_template=CHAT_TEMPLATE)
    return model, processor


def save_tiny(folder: str | Path, *, seed: int = 0, chat_template: str | None = None) -> Path:
    """Write a tiny random Higgs checkpoint to ``folder`` (codec in ``folder/audio_tokenizer``).

    ``chat_template`` replaces Chorus's own template in the saved checkpoint (tests save the one
    transformers' conversion script writes into real checkpoints, so they are not circular).
    """
    from transformers import HiggsAudioV2TokenizerModel

    folder = Path(folder)
    model, processor = build("tiny", seed=seed)
    codec_dir = folder / "audio_tokenizer"
    processor.audio_tokenizer.save_pretrained(codec_dir)
    # Reload so the processor records where the codec lives (as a real checkpoint names its codec repo).
    codec_class: Any = HiggsAudioV2TokenizerModel
    processor.audio_tokenizer = codec_class.from_pretrained(codec_dir)
    if chat_template is not None:
        processor.chat_template = chat_template
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
