"""The hybrid recipe: retrieved and generated candidates, one learned choice, saved and loaded."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from radimpress.cli import main
from radimpress.models.base import load_model
from radimpress.models.hybrid import FEATURES
from radimpress.models.recipes import load_recipe
from radimpress.records import InputError, Report, write_jsonl
from support import synthetic_reports, tiny_recipe, train_tiny


def _hybrid(generator_kind: str = "seq2seq", **choice) -> dict:
    generator = tiny_recipe(generator_kind, train={"max_steps": 4})
    return {
        "kind": "hybrid",
        "name": "tiny-hybrid",
        "rerank": {"k": 6, "n_frequent": 2, "max_iter": 20, "edit": False},
        "generator": generator,
        "choice": {
            "top_k": 3,
            "beams": 2,
            "objective": "lambdarank",
            "max_iter": 20,
            "min_samples_leaf": 2,
            **choice,
        },
    }


def test_shipped_hybrid_recipes_are_valid():
    recipe = load_recipe("hybrid")
    assert recipe.kind == "hybrid" and recipe.generator is None
    assert recipe.choice.safety_features and recipe.choice.extractive
    assert recipe.choice.objective == "lambdarank"
    with_t5 = load_recipe("hybrid-t5")
    assert with_t5.generator.kind == "seq2seq" and with_t5.choice.beams == 4


@pytest.mark.parametrize("generator_kind", ["seq2seq", "causal"])
def test_candidates_come_from_both_parts_and_are_scored_with_safety_features(
    tmp_path, generator_kind
):
    train, val = synthetic_reports(40, 1, "tr"), synthetic_reports(24, 2, "va")
    model, metrics = train_tiny(_hybrid(generator_kind), train, val)
    assert metrics["choice_reports"] == 64 and metrics["choice_validation_reports"] == 24
    assert metrics["choice_candidates_per_report"] > 1
    assert 0 < metrics["choice_generated_share"] <= 1
    query = [Report("q", "Large left pleural effusion with adjacent atelectasis.")]
    (pool,) = model.pools(query)
    assert any(c.rerank is not None for c in pool) and any(c.beam is not None for c in pool)
    x = model.features(query, [pool])
    assert x.shape == (len(pool), len(FEATURES))
    # the generator's log-likelihood of every candidate is a feature (none is missing)
    assert np.isfinite(x[:, FEATURES.index("ll_mean")]).all()
    # "Large left pleural effusion." would be fine; a right-sided one must be flagged.
    (wrong,) = model.features(query, [[type(pool[0])("Large right pleural effusion.")]])
    assert wrong[FEATURES.index("warn_laterality")] >= 1
    drafts = model.generate(val[:4], num_candidates=2)
    assert all(1 <= len(d) <= 2 for d in drafts)
    model.save(tmp_path / "m")
    assert (tmp_path / "m" / "rerank" / "radimpress.json").exists()
    assert load_model(tmp_path / "m").generate(val[:4], num_candidates=2) == drafts


def test_the_choice_needs_a_validation_split_to_weigh_a_generator():
    with pytest.raises(InputError, match="validation split"):
        train_tiny(_hybrid(), synthetic_reports(40, 1, "tr"), synthetic_reports(3, 2, "va"))


def test_without_a_generator_the_choice_learns_from_out_of_fold_training_pairs():
    recipe = {**_hybrid(), "generator": None}
    train, val = synthetic_reports(40, 1, "tr"), synthetic_reports(3, 2, "va")
    model, metrics = train_tiny(recipe, train, val)
    assert metrics["choice_reports"] == 43 and metrics["choice_validation_reports"] == 3
    assert metrics["choice_generated_share"] == 0 and model.generator is None
    assert metrics["choice_stock_phrases"] == len(model.stock.classes) - 1 > 0
    findings = "Small left pleural effusion is seen. Lungs otherwise clear."
    (pool,) = model.pools([Report("q", findings)])
    assert "Small left pleural effusion." in [c.text for c in pool if c.extract is not None]
    assert len(model.generate(val, num_candidates=2)[0]) >= 1


def test_cli_trains_a_hybrid_recipe_file(tmp_path):
    import yaml

    from support import write_dataset

    data = write_dataset(tmp_path / "data", n_val=24)
    (tmp_path / "h.yaml").write_text(yaml.safe_dump(_hybrid(safety_features=False)))
    assert main(["train", "--recipe", str(tmp_path / "h.yaml"), "--data", str(data), "--out", str(tmp_path / "m")]) == 0  # fmt: skip
    manifest = json.loads((tmp_path / "m" / "radimpress.json").read_text())
    assert manifest["kind"] == "hybrid" and manifest["train_metrics"]["generator"]["steps"] == 4


def test_the_stock_phrase_classifier_offers_candidates_and_features_unless_turned_off(tmp_path):
    train, val = synthetic_reports(40, 1, "tr"), synthetic_reports(3, 2, "va")
    query = [Report("q", "Heart size is normal. Lungs are clear.")]
    prob = FEATURES.index("stock_prob")
    model, _ = train_tiny({**_hybrid(), "generator": None}, train, val)
    (pool,) = model.pools(query)
    offered = [c for c in pool if c.stock is not None]
    assert [c.stock for c in offered] == [0, 1]  # the recipe's two likeliest stock phrases
    x = model.features(query, [pool])
    assert all(0 < x[pool.index(c), prob] <= 1 for c in offered)
    # each relative feature is the distance to the pool's best value of its feature
    for name in ("stock_prob", "words_f", "tokens"):
        below = x[:, FEATURES.index(f"{name}_below_best")]
        values = np.nan_to_num(x[:, FEATURES.index(name)], nan=-1.0)
        assert np.allclose(below, values - values.max()) and below.max() == 0
    model.save(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert again.stock.classes == model.stock.classes
    assert np.array_equal(again.features(query, [pool]), x, equal_nan=True)

    off, _ = train_tiny({**_hybrid(stock_phrases=0), "generator": None}, train, val)
    (pool,) = off.pools(query)
    assert off.stock is None and all(c.stock is None for c in pool)
    assert np.isnan(off.features(query, [pool])[:, prob]).all()


@pytest.mark.parametrize("objective", ["lambdarank", "regret"])
def test_the_choice_puts_each_pools_best_candidate_first(objective):
    """Pools of 6 candidates whose ROUGE-L shows (noisily) in one feature: the learnt choice
    picks the best one of unseen pools far more often than chance does."""
    from radimpress.models.hybrid import ChoiceRows, fit_choice
    from radimpress.models.options import ChoiceOptions

    rng = np.random.default_rng(0)

    def pools(n: int) -> ChoiceRows:
        y = rng.uniform(size=n * 6)
        x = np.c_[y + rng.normal(0, 0.1, n * 6), rng.normal(size=n * 6)]  # a signal, a distractor
        return ChoiceRows(x, y, np.repeat(np.arange(n), 6), 0)

    train, test = pools(300), pools(200)
    assert train.group_sizes().tolist() == [6] * 300
    assert train.relevance(30).max() == 30 and train.relevance(30).min() >= 0
    options = ChoiceOptions(objective=objective, max_iter=60, max_leaf_nodes=7)
    scorer = fit_choice(options, train.x, train)
    scores = scorer.predict(test.x).reshape(200, 6)
    best = test.y.reshape(200, 6).argmax(axis=1)
    assert np.mean(scores.argmax(axis=1) == best) > 0.5  # chance: 1 in 6


def test_without_lightgbm_the_ranker_says_how_to_do_without_it(monkeypatch):
    """A server image without libgomp cannot load LightGBM: the error names the fix and the
    objective that trains without it, and that objective does."""
    from radimpress.models.hybrid import ChoiceRows, fit_choice
    from radimpress.models.options import ChoiceOptions

    monkeypatch.setitem(sys.modules, "lightgbm", None)  # `import lightgbm` now fails
    rows = ChoiceRows(np.eye(4), np.array([0.1, 0.9, 0.2, 0.5]), np.array([0, 0, 1, 1]), 0)
    with pytest.raises(InputError, match=r"libgomp1.*choice\.objective=regret"):
        fit_choice(ChoiceOptions(objective="lambdarank", max_iter=5), rows.x, rows)
    regret = ChoiceOptions(objective="regret", max_iter=5, min_samples_leaf=1)
    assert fit_choice(regret, rows.x, rows).predict(rows.x).shape == (4,)


def test_a_saved_ranker_without_lightgbm_says_how_to_do_without_it(tmp_path, monkeypatch):
    train, val = synthetic_reports(40, 1, "tr"), synthetic_reports(3, 2, "va")
    model, _ = train_tiny({**_hybrid(), "generator": None}, train, val)
    model.save(tmp_path / "m")
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # a machine where it does not load
    with pytest.raises(InputError, match=r"libgomp1"):
        load_model(tmp_path / "m")


def test_drafting_with_a_hybrid_without_generator_imports_no_language_model_library(tmp_path):
    """The default recipe has no neural network, so its drafts must not pay for importing
    transformers and peft (about 5 of a 3-report `generate`'s 13.6 s, measured)."""
    train, val = synthetic_reports(40, 1, "tr"), synthetic_reports(3, 2, "va")
    model, _ = train_tiny({**_hybrid(), "generator": None}, train, val)
    model.save(tmp_path / "m")
    write_jsonl(tmp_path / "in.jsonl", val)
    script = (
        "import sys\n"
        "from radimpress.drafting.drafter import Drafter, DraftOptions\n"
        "from radimpress.records import read_reports\n"
        f"d = Drafter.from_model_dir({str(tmp_path / 'm')!r})\n"
        f"drafts = list(d.draft(read_reports({str(tmp_path / 'in.jsonl')!r}), DraftOptions()))\n"
        "assert len(drafts) == 3 and all(r.impression for r in drafts), drafts\n"
        "print(sorted(m for m in ('transformers', 'peft') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
