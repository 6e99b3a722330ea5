# ruff: noqa: E501  (the chat template is Qwen3's, kept verbatim)
"""Build a tiny random-weight Qwen3 model directory that vLLM can serve (no download).

Runs in the vLLM venv (it needs torch, transformers and tokenizers):

    python scripts/compat/build_tiny_qwen3.py OUT_DIR

The model has 2 layers and hidden size 128, a byte-level BPE tokenizer trained on local
text, and a Qwen3-style chat template (system, tools, tool role, `<think>`,
`enable_thinking`, `reasoning_content` on assistant turns of the current tool loop).

Its answers are noise, but shaped noise: one hidden dimension is constant, so the
output layer can carry a per-token bias (a context-free prior on top of random
logits). The bias makes answers end after a few dozen tokens, JSON strings close
quickly under guided decoding (whitespace-only tokens are ruled out), and
keeps the model from opening `<tool_call>` or `<think>` on its own, so a test gets a
short, plain answer unless it asks for more (for example with `logit_bias`). Everything else about the wire stays real.
"""

from __future__ import annotations

import json
import sys
import sysconfig
from pathlib import Path

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Added (not special) tokens: they survive detokenization, so vLLM's parsers see them.
ADDED = [
    "<think>",
    "</think>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
]
VOCAB_SIZE = 512
HIDDEN = 128
SEED = 1234

# Per-token logit bias (added to near-uniform random logits, about 500 tokens).
# +4 on the end token: P(end) ~ 7% a step, answers of ~15 tokens on average.
BIAS = {
    "<|im_end|>": 4.0,
    '"': 5.0,  # JSON strings end after a couple of tokens under guided decoding
    "}": 3.0,
    "<think>": -30.0,
    "</think>": -30.0,
    "<tool_call>": -30.0,
    "</tool_call>": -30.0,
    "<tool_response>": -30.0,
    "</tool_response>": -30.0,
    "<|im_start|>": -30.0,
    "<|endoftext|>": -30.0,
}
# Tokens of whitespace only: guided decoding allows them between JSON elements, and a
# near-uniform model would otherwise pad JSON with whitespace until `max_tokens`.
WHITESPACE_BIAS = -30.0

CHAT_TEMPLATE = r"""
{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.content is string %}
        {%- set content = message.content %}
    {%- else %}
        {%- set content = '' %}
    {%- endif %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in content %}
                {%- set reasoning_content = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
                {%- set content = content.split('</think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- else %}
        {{- '<think>\n' }}
    {%- endif %}
{%- endif %}
""".strip()


def _training_text() -> list[str]:
    """Local text to train the tokenizer on: some of the standard library's sources."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    names = ["json/__init__.py", "textwrap.py", "string.py", "this.py", "argparse.py"]
    texts = [(stdlib / name).read_text(encoding="utf-8") for name in names]
    texts.append('{"name": "value", "arguments": {"input": 3}} <think> </think> tool_call')
    return texts


def build_tokenizer(out: Path) -> object:
    """Train a byte-level BPE tokenizer and save it with the chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE - len(ADDED),
        special_tokens=SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_training_text(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",  # noqa: S106 - a token, not a password
        pad_token="<|endoftext|>",  # noqa: S106
        unk_token=None,
        chat_template=CHAT_TEMPLATE,
        model_max_length=4096,
    )
    fast.add_tokens(ADDED)
    fast.save_pretrained(out)
    return fast


def build_model(out: Path, tokenizer: object) -> None:
    """Save a random 2-layer Qwen3 whose output layer carries the `BIAS` prior."""
    import torch
    from transformers import GenerationConfig, Qwen3Config, Qwen3ForCausalLM

    vocab = len(tokenizer)  # type: ignore[arg-type]
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in BIAS}  # type: ignore[attr-defined]
    # ByteLevel maps '"' and '}' to themselves.
    eos = ids["<|im_end|>"]
    config = Qwen3Config(
        vocab_size=vocab,
        hidden_size=HIDDEN,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=64,
        max_position_embeddings=4096,
        tie_word_embeddings=False,
        bos_token_id=eos,
        eos_token_id=eos,
        pad_token_id=ids["<|endoftext|>"],
        torch_dtype="float32",
    )
    torch.manual_seed(SEED)
    model = Qwen3ForCausalLM(config)
    with torch.no_grad():
        # Dimension 0 of every embedding is 1.0 (the others are ~0.02): after the final
        # RMSNorm it stays ~11, so column 0 of the output layer acts as a logit bias.
        model.model.embed_tokens.weight[:, 0] = 1.0
        scale = float((HIDDEN / (1.0 + (HIDDEN - 1) * 0.02**2)) ** 0.5)
        model.lm_head.weight[:, 0] = 0.0
        for token_id in range(vocab):
            if not tokenizer.decode([token_id]).strip():  # type: ignore[attr-defined]
                model.lm_head.weight[token_id, 0] = WHITESPACE_BIAS / scale
        for token, bias in BIAS.items():
            model.lm_head.weight[ids[token], 0] = bias / scale
    model.save_pretrained(out, safe_serialization=True)
    GenerationConfig(
        bos_token_id=eos, eos_token_id=[eos], pad_token_id=ids["<|endoftext|>"]
    ).save_pretrained(out)
    (out / "token_ids.json").write_text(json.dumps(ids, indent=2) + "\n")


def main() -> None:
    """Build the model into the directory given on the command line."""
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(out)
    build_model(out, tokenizer)
    print(out)


if __name__ == "__main__":
    main()
