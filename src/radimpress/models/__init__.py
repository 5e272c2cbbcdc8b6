"""Impression models: baselines, the learned reranker, seq2seq and causal language models.

Model kinds are registered once, in `radimpress.models.recipes.KINDS`;
`radimpress.models.training` trains them and `radimpress.models.base.load_model`
loads any saved one.
"""
