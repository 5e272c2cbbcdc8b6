"""Impression models: baselines, seq2seq and causal language models, recipes."""

from radimpress.models.base import register_model

# Imported lazily by kind, so `radimpress --help` never pays for torch.
register_model("seq2seq", "radimpress.models.seq2seq:Seq2SeqModel")
register_model("causal", "radimpress.models.causal:CausalModel")
