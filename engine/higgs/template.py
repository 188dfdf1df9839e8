"""The Higgs Audio v2 chat template (Jinja), for checkpoints and random test models that lack one.

Real transformers-native checkpoints ship their own template (``chat_template.jinja``); the loader
uses it when present. This one is written to render the same layout as the template transformers'
conversion script gives the converted checkpoint (``models/higgs_audio_v2/convert_higgs_audio_v2_to_hf.py``):

    <|begin_of_text|><|start_header_id|>system<|end_header_id|>\\n\\n{system text}
    \\n\\n<|scene_desc_start|>\\n{scene text}\\n\\n{SPEAKER0: <|audio_out_bos|><|AUDIO_OUT|><|audio_eos|>}
    \\n{SPEAKER1: profile}\\n<|scene_desc_end|><|eot_id|>
    <|start_header_id|>user<|end_header_id|>\\n\\n{text}<|eot_id|>
    <|start_header_id|>assistant<|end_header_id|>\\n\\n<|audio_out_bos|><|AUDIO_OUT|><|audio_eos|><|eot_id|>
    …
    <|start_header_id|>assistant<|end_header_id|>\\n\\n<|audio_out_bos|>      (generation prompt)

(shown wrapped; the real string has no line breaks other than the ``\\n`` escapes). Roles: ``system``
(required, first; its first text item is used), optional ``scene`` (text items and audio items),
``user`` (text items, concatenated), ``assistant`` (audio only).
"""

from __future__ import annotations

CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- if not messages or messages[0]['role'] != 'system' -%}"
    "{{- raise_exception('A system message is required but not provided!') -}}"
    "{%- endif -%}"
    "{%- set head = messages[0]['content'] -%}"
    "{%- set system_text = head if head is string else head[0]['text'] -%}"
    "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' + (system_text | trim) -}}"
    "{%- set rest = messages[1:] -%}"
    "{%- if rest and rest[0]['role'] == 'scene' -%}"
    "{{- '\\n\\n<|scene_desc_start|>\\n' -}}"
    "{%- set items = rest[0]['content'] -%}"
    "{%- if items is string -%}{{- items | trim -}}{%- else -%}"
    "{%- for item in items -%}"
    "{%- if item['type'] == 'text' -%}"
    "{{- item['text'] | trim -}}"
    "{%- if loop.first and not loop.last -%}{{- '\\n\\n' -}}"
    "{%- elif not loop.first and not loop.last and items[loop.index]['type'] != 'audio' -%}{{- '\\n' -}}"
    "{%- endif -%}"
    "{%- elif item['type'] == 'audio' -%}"
    "{{- ' <|audio_out_bos|><|AUDIO_OUT|><|audio_eos|>' -}}"
    "{%- if not loop.last -%}{{- '\\n' -}}{%- endif -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '\\n<|scene_desc_end|>' -}}"
    "{%- set rest = rest[1:] -%}"
    "{%- endif -%}"
    "{{- '<|eot_id|>' -}}"
    "{%- for message in rest -%}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' -}}"
    "{%- if message['role'] == 'assistant' -%}"
    "{%- if message['content'] is string or message['content'][0]['type'] != 'audio' -%}"
    "{{- raise_exception('Assistant messages must contain audio content only!') -}}"
    "{%- endif -%}"
    "{{- '<|audio_out_bos|><|AUDIO_OUT|><|audio_eos|>' -}}"
    "{%- elif message['content'] is string -%}{{- message['content'] | trim -}}"
    "{%- else -%}"
    "{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'text' -%}{{- item['text'] | trim -}}{%- endif -%}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '<|eot_id|>' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n<|audio_out_bos|>' -}}"
    "{%- endif -%}"
)

# Special tokens the template and the processor need (Llama-3 names; Higgs reuses reserved slots).
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|begin_of_text|>",
    "<|end_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|scene_desc_start|>",
    "<|scene_desc_end|>",
    "<|audio_out_bos|>",
    "<|audio_eos|>",
    "<|AUDIO_OUT|>",
    "<|reserved_special_token_6|>",
)
