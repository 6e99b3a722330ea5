"""Batch jobs on W&B Inference: resumable, crash-safe, with progress, per-row results and cost.

W&B Inference has no `/v1/batches`; this runs a batch file through a `ChatWandbInference`
instead, as `python -m langchain_wandb batch requests.jsonl -o results.jsonl` or::

    from langchain_wandb import ChatWandbInference
    from langchain_wandb.batch import run

    summary = run(ChatWandbInference(model="..."), "requests.jsonl", "results.jsonl")
    print(summary.text())

Input: OpenAI Batch API JSONL (an OpenAI batch file runs unchanged), `{"custom_id",
"messages"}` lines, or one prompt per line. Output: OpenAI's batch output format, one
line per request, with usage and cost. Run it again to resume: answered rows and rows
failed for good are skipped, rows that may pass on a retry (5xx, timeouts) run again.
A run stops cleanly on 401, 402, 403, a quota 429, the spending cap or Ctrl-C, keeping
every finished row.
"""

from __future__ import annotations

from langchain_wandb.batch._input import InputError
from langchain_wandb.batch._journal import OutputError
from langchain_wandb.batch._runner import arun, run
from langchain_wandb.batch._summary import BatchSummary

__all__ = ["BatchSummary", "InputError", "OutputError", "arun", "run"]
