"""Model profile data: `_profiles.py` is written by `langchain-profiles refresh`.

It merges models.dev's `wandb` provider with `profile_augmentations.toml`, which
`scripts/update_models.py` writes from W&B's docs (`models.json`): edit neither by hand.
`prices.json` is the dated price snapshot (USD per 1M tokens) the same script refreshes.
"""
