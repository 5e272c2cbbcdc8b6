"""The CTranslate2 backend drafts what transformers drafts, from a copy inside the model folder."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys

import ctranslate2  # noqa: F401  (a test dependency: fail, never skip, without it)
import pytest

from radimpress.cli import main
from radimpress.models import ctranslate2_backend, ctranslate2_export
from radimpress.models.backends import exported_copy
from radimpress.models.base import load_model, read_manifest
from radimpress.models.ctranslate2_backend import (
    KEPT_IDS,
    STOP_IDS,
    VMAP,
    WHOLE_DIR,
    load_tokenizer,
)
from radimpress.models.ctranslate2_export import auto_quantization, export
from radimpress.records import InputError, read_jsonl, write_jsonl
from support import saved_model, synthetic_reports, tiny_recipe, train_tiny

TRAIN = synthetic_reports(32, 1, "tr")
VAL = synthetic_reports(10, 2, "va")


@pytest.fixture(scope="module", params=["seq2seq", "causal"])
def trained(request, tmp_path_factory):
    """A tiny model of each kind, trained enough to write words, saved once per module."""
    kind = request.param
    model, _ = train_tiny(tiny_recipe(kind, train={"max_steps": 60}), TRAIN)
    folder = tmp_path_factory.mktemp(kind) / "model"
    model.save(folder)
    return kind, folder


def _copy(folder, tmp_path):
    out = tmp_path / "model"
    shutil.copytree(folder, out)
    return out


@pytest.mark.parametrize("decoding", [{"num_beams": 1}, {"num_beams": 3}, {"max_new_tokens": 3}])
def test_float32_copy_drafts_what_transformers_drafts(trained, tmp_path, decoding):
    kind, folder = trained
    folder = _copy(folder, tmp_path)
    export(folder, quantization="float32")
    hf = load_model(folder, backend="hf")
    fast = load_model(folder)  # auto: the exported copy
    assert (hf.backend, fast.backend) == ("hf", "ctranslate2")
    expected = hf.generate(VAL, num_candidates=1, **decoding)
    assert any(c[0] for c in expected), "the tiny model should write something"
    assert fast.generate(VAL, num_candidates=1, **decoding) == expected
    assert fast.last_generation["backend"] == "ctranslate2"


def test_beam_candidates_agree(trained, tmp_path):
    kind, folder = trained
    folder = _copy(folder, tmp_path)
    export(folder, quantization="float32")
    hf = load_model(folder, backend="hf").generate(VAL, num_candidates=2, num_beams=3)
    fast = load_model(folder, backend="ctranslate2").generate(VAL, num_candidates=2, num_beams=3)
    assert [len(c) for c in fast] == [len(c) for c in hf]
    assert fast == hf


def _spy_batch_sizes(model) -> list[int]:
    """The max_batch_size of every call the model's CTranslate2 engine receives from now on."""
    engine, seen = model.fast.engine, []

    class Spy:
        def __getattr__(self, name):
            call = getattr(engine, name)

            def spied(*args, **kwargs):
                seen.append(kwargs["max_batch_size"])
                return call(*args, **kwargs)

            return spied

    model.fast.engine = Spy()
    return seen


def test_replicas_on_several_threads_draft_what_one_thread_drafts(trained, tmp_path, monkeypatch):
    """On a CPU each thread runs its own replica; the batches they share must not change a draft.
    The threads are radimpress's setting (--threads, which sets RADIMPRESS_THREADS)."""
    kind, folder = trained
    folder = _copy(folder, tmp_path)
    export(folder, quantization="float32")
    monkeypatch.setenv("RADIMPRESS_THREADS", "1")
    one = load_model(folder, backend="ctranslate2")
    assert one.fast.replicas == 1
    expected = one.generate(VAL, num_candidates=2, num_beams=3, batch_size=2)
    monkeypatch.setenv("RADIMPRESS_THREADS", "2")
    two = load_model(folder, backend="ctranslate2")
    assert two.fast.replicas == 2
    assert two.generate(VAL, num_candidates=2, num_beams=3, batch_size=2) == expected
    # one call carries several batches, which the replicas share
    assert two.last_generation["batch_size"] == 2 * two.fast.batches_per_call > 2
    # a call smaller than a batch (a server's micro-batch) is shared between the replicas too
    seen = _spy_batch_sizes(two)
    assert two.generate(VAL, num_candidates=2, num_beams=3, batch_size=16) == expected
    assert seen == ([1] if kind == "causal" else [5])  # 10 reports, half to each replica


def test_a_causal_copy_on_a_cpu_decodes_one_prompt_at_a_time(trained, tmp_path):
    """Batched prompts of different lengths cost the engine a decoding step per extra prompt
    token (17.6 s against 3.7 s for 10 Gemma reports), so a CPU decodes each alone."""
    kind, folder = trained
    folder = _copy(folder, tmp_path)
    export(folder, quantization="float32")
    model = load_model(folder, backend="ctranslate2")
    expected = load_model(folder, backend="hf").generate(VAL, num_candidates=2, num_beams=3)
    seen = _spy_batch_sizes(model)
    assert model.generate(VAL, num_candidates=2, num_beams=3, batch_size=4) == expected
    # seq2seq batches as asked (the last call holds the 2 reports left)
    assert seen == ([1, 1, 1] if kind == "causal" else [4, 4, 2])


def test_int8_copy_is_recorded_and_drafts(trained, tmp_path):
    kind, folder = trained
    folder = _copy(folder, tmp_path)
    record = export(folder, quantization="int8")
    manifest = read_manifest(folder)
    assert manifest["exports"]["ctranslate2"] == record
    assert record["quantization"] == "int8" and (folder / "ctranslate2" / "model.bin").exists()
    assert "CTranslate2 copy in `ctranslate2/` (int8" in (folder / "README.md").read_text()
    drafts = load_model(folder).generate(VAL)
    assert len(drafts) == len(VAL) and all(len(c) == 1 for c in drafts)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"avx2", "fma"}, "int8"),
        ({"avx2", "avx512f", "avx512_vnni"}, "int8"),
        ({"avx_vnni"}, "int8"),
        ({"amx_int8", "amx_tile"}, "int8"),
        ({"sse4_2", "avx"}, "float32"),
        (set(), "float32"),
    ],
)
def test_auto_quantization_is_int8_where_it_was_measured_fastest(flags, expected):
    choice, reason = auto_quantization(flags)
    assert choice == expected and reason.startswith("auto: ")


def test_export_by_default_records_what_auto_chose_and_why(trained, tmp_path, monkeypatch):
    _, folder = trained
    folder = _copy(folder, tmp_path)
    monkeypatch.setattr(ctranslate2_export, "cpu_flags", lambda: {"sse4_2", "avx"})
    record = export(folder)
    assert record["quantization"] == "float32"
    assert "neither AVX2 nor int8 dot-product" in record["quantization_reason"]
    assert read_manifest(folder)["exports"]["ctranslate2"]["quantization"] == "float32"
    assert "- quantization: auto: the CPU has neither" in (folder / "README.md").read_text()


def test_shortlist_limits_what_is_written(trained, tmp_path):
    kind, folder = trained
    folder = _copy(folder, tmp_path)
    record = export(folder, quantization="float32", shortlist=True)
    short = record["shortlist"]
    assert short["source"] == "prompt_pairs.json" and short["tokens"] < short["vocabulary"]
    model = load_model(folder)
    tok = model.tokenizer
    drafts = model.generate(VAL, num_beams=1)
    written = {t for c in drafts for t in tok.tokenize(c[0])}
    if kind == "seq2seq":
        assert short["method"] == "vmap" and (folder / "ctranslate2" / VMAP).exists()
        lines = (folder / "ctranslate2" / VMAP).read_text().splitlines()
        allowed = set(lines[0].split("\t")[1].split())
        allowed |= {t for r in model.builder.prompts(VAL) for t in tok.tokenize(r)}
    else:
        assert short["method"] == "pruned-vocabulary"
        kept = json.loads((folder / "ctranslate2" / KEPT_IDS).read_text())
        assert len(kept) == short["tokens"]
        allowed = set(tok.convert_ids_to_tokens(kept))
    assert written <= allowed


@pytest.mark.parametrize(
    ("draft", "misspells"),
    [
        ("Intiminal flap, StaNford type A.", True),  # a shortlist copy's spelling
        ("Fills in the right lower lobe arteries.", True),
        ("Intimal flap. Stanford type A dissection.", False),
        ("INTIMAL FLAP.", False),
        ("Cardiomegaly. Intimal flap.", False),  # a word of the model's own, not a misspelling
    ],
)
def test_a_misspelling_is_a_new_word_that_begins_like_an_unwritable_one(draft, misspells):
    prompt = (
        "Findings: Filling defects in the right lower lobe arteries. "
        "Intimal flap, Stanford type A dissection."
    )
    unwritable = {"Filling", "Intimal", "Stanford"}
    assert ctranslate2_backend.misspelt(draft, prompt, unwritable) is misspells


def test_a_draft_that_misspells_a_word_outside_the_shortlist_is_drafted_again_with_every_token(
    tmp_path, monkeypatch
):
    """A shortlist copy can write only its kept tokens: a CT report's "Intimal flap ...
    Stanford type A" was written back "Intiminal flap ... StaNford" by a copy made from chest
    radiographs. Such a report is drafted again by the whole-vocabulary copy, in its place;
    the others keep the shortlist copy's drafts."""
    model, _ = train_tiny(tiny_recipe("causal", train={"max_steps": 60}), TRAIN)
    model.save(tmp_path / "whole")
    export(tmp_path / "whole", quantization="float32")
    model.save(tmp_path / "short")
    export(tmp_path / "short", quantization="float32", shortlist=True)
    fast = load_model(tmp_path / "short")
    runner = fast.fast
    word = next(
        w for w in ("depression", "portal", "pending") if runner.unwritable_words(f"Findings: {w}")
    )
    reports = [*VAL[:2], dataclasses.replace(VAL[2], findings=f"{VAL[2].findings} {word}.")]
    assert word in runner.unwritable_words(fast.builder.prompts(reports[2:])[0])
    kept_drafts = fast.generate(reports, num_beams=1)
    assert runner.drafted_whole == 0  # nothing misspelt: no second draft
    monkeypatch.setattr(ctranslate2_backend, "misspelt", lambda draft, prompt, words: True)
    drafts = fast.generate(reports, num_beams=1)
    assert runner.drafted_whole == 1  # only the report whose findings have the word
    assert drafts[:2] == kept_drafts[:2]
    assert drafts[2] == load_model(tmp_path / "whole").generate(reports[2:], num_beams=1)[0]


def test_a_copy_without_the_whole_vocabulary_spells_an_unknown_prompt_token_with_kept_pieces(
    tmp_path,
):
    """Copies exported before the whole-vocabulary sibling still draft every prompt."""
    model, _ = train_tiny(tiny_recipe("causal", train={"max_steps": 2}), TRAIN)
    model.save(tmp_path / "m")
    export(tmp_path / "m", quantization="float32", shortlist=True)
    shutil.rmtree(tmp_path / "m" / "ctranslate2" / WHOLE_DIR)
    runner = load_model(tmp_path / "m").fast
    assert not runner.has_whole
    tok = runner.model.tokenizer
    dropped = [i for i in range(len(tok)) if i not in runner.new_id]
    assert dropped, "the training texts do not use every token of the tokenizer"
    word = tok.convert_ids_to_tokens(dropped[0])
    spelled = runner.respell([dropped[0]])
    assert all(i in runner.new_id for i in spelled)
    assert "".join(tok.convert_ids_to_tokens(spelled)) == word


def test_shortlist_from_a_dataset_when_the_prompt_retrieves_nothing(tmp_path, dataset_dir):
    model, _ = train_tiny(tiny_recipe("seq2seq", prompt={"rag_k": 0}), TRAIN)
    model.save(tmp_path / "m")
    with pytest.raises(InputError, match="give --data"):
        export(tmp_path / "m", shortlist=True)
    record = export(tmp_path / "m", shortlist=True, data=dataset_dir)
    assert record["shortlist"]["source"] == str(dataset_dir / "train.jsonl")


def test_a_causal_shortlist_keeps_the_indications_the_prompt_shows(tmp_path):
    """The training dataset (here: the folder the manifest names) is read before the retrieved
    pairs, which have no exam or indication: a prompt word outside the kept vocabulary would be
    spelled in pieces the model never saw in training."""
    recipe = tiny_recipe("causal", train={"max_steps": 2}, prompt={"include_indication": True})
    train = [
        dataclasses.replace(r, indication="Dyspnoea and haemoptysis, rule out pneumothorax")
        for r in TRAIN
    ]
    model, _ = train_tiny(recipe, train)
    model.save(tmp_path / "m")
    data = tmp_path / "data"
    data.mkdir()
    write_jsonl(data / "train.jsonl", train)
    manifest = read_manifest(tmp_path / "m")
    (tmp_path / "m" / "radimpress.json").write_text(json.dumps({**manifest, "data": str(data)}))
    record = export(tmp_path / "m", quantization="float32", shortlist=True)
    assert record["shortlist"]["source"] == str(data / "train.jsonl")
    tok = load_model(tmp_path / "m").tokenizer
    kept = set(json.loads((tmp_path / "m" / "ctranslate2" / KEPT_IDS).read_text()))
    prompt = model.builder.prompts(train[:1])[0]
    assert "Indication: Dyspnoea" in prompt
    assert set(tok(prompt, add_special_tokens=False)["input_ids"]) <= kept
    # Without a reachable dataset the pairs are read, and the line's label is kept at least.
    shutil.rmtree(data)
    record = export(tmp_path / "m", quantization="float32", shortlist=True)
    assert record["shortlist"]["source"] == "prompt_pairs.json"
    kept = set(json.loads((tmp_path / "m" / "ctranslate2" / KEPT_IDS).read_text()))
    label = prompt[prompt.index("\nIndication:") : prompt.index("Dyspnoea")]
    assert set(tok(label, add_special_tokens=False)["input_ids"]) <= kept


def test_backend_choice_errors_are_clear(tmp_path):
    model, _ = train_tiny(tiny_recipe("seq2seq", train={"max_steps": 1}), TRAIN)
    model.save(tmp_path / "m")
    assert exported_copy(tmp_path / "m", read_manifest(tmp_path / "m")) is None
    assert load_model(tmp_path / "m").backend == "hf"  # auto without a copy
    with pytest.raises(InputError, match="radimpress export"):
        load_model(tmp_path / "m", backend="ctranslate2")
    with pytest.raises(InputError, match="Python only"):
        load_model(saved_model(tmp_path / "retrieval"), backend="ctranslate2")
    with pytest.raises(InputError, match="nothing to convert"):
        export(tmp_path / "retrieval")
    with pytest.raises(InputError, match="quantization 'int4': expected one of auto, int8"):
        export(tmp_path / "m", quantization="int4")
    assert not (tmp_path / "m" / "ctranslate2").exists()


def test_export_and_generate_commands(trained, tmp_path, capsys):
    kind, folder = trained
    folder = _copy(folder, tmp_path)
    write_jsonl(tmp_path / "in.jsonl", VAL)
    assert main(["export", "--model", str(folder), "--quantization", "float32"]) == 0
    assert "exported" in capsys.readouterr().out
    outputs = {}
    for backend in ("hf", "auto"):
        out = tmp_path / f"{backend}.jsonl"
        args = ["generate", "--model", str(folder), "--input", str(tmp_path / "in.jsonl")]
        assert main([*args, "--output", str(out), "--num-beams", "1", "--backend", backend]) == 0
        summary = capsys.readouterr().out
        assert ("ctranslate2 on cpu" if backend == "auto" else "hf on cpu") in summary
        outputs[backend] = [row for _, row in read_jsonl(out)]
    assert outputs["auto"] == outputs["hf"]


# The default `generate` (safety checks on) in a fresh process, as a CLI call, `serve` or a Ray
# actor runs it; the script says which heavy modules the process imported.
GENERATE_AND_REPORT_IMPORTS = """
import json, sys
from radimpress.cli import main
code = main(["generate", "--model", sys.argv[1], "--input", sys.argv[2], "--output", sys.argv[3]])
print(json.dumps({"code": code, "torch": "torch" in sys.modules, "thinc": "thinc" in sys.modules}))
"""


def test_drafting_through_the_copy_never_imports_torch(trained, tmp_path):
    """Importing torch was 1.4-1.9 s and about 280 MB of every process drafting through a copy,
    which runs no torch operation (thinc, under the safety checks' spaCy, imported it too)."""
    kind, folder = trained
    folder = _copy(folder, tmp_path)
    export(folder, quantization="float32")
    write_jsonl(tmp_path / "in.jsonl", VAL[:3])
    out = tmp_path / "out.jsonl"
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            GENERATE_AND_REPORT_IMPORTS,
            str(folder),
            str(tmp_path / "in.jsonl"),
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report == {"code": 0, "torch": False, "thinc": True}
    rows = [row for _, row in read_jsonl(out)]
    assert len(rows) == 3 and all("warnings" in row for row in rows)


def test_a_copys_tokenizer_without_tokenizer_json_still_loads(tmp_path):
    """Some tokenizers save a vocabulary file only; the plain fast tokenizer cannot read that."""
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "no", "acute", "disease", "."]
    (tmp_path / "vocab.txt").write_text("\n".join(words) + "\n")
    config = {"tokenizer_class": "BertTokenizer", "do_lower_case": True}
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    tokenizer = load_tokenizer(tmp_path)
    assert tokenizer("No acute disease.")["input_ids"] == [2, 5, 6, 7, 8, 3]


def test_a_copys_tokenizer_json_is_read_as_it_was_saved(trained, tmp_path):
    kind, folder = trained
    folder = _copy(folder, tmp_path)
    export(folder, quantization="float32")
    saved = tmp_path / "model" / "ctranslate2" / "tokenizer"
    hf = load_model(folder, backend="hf").tokenizer
    copy = load_tokenizer(saved)
    texts = [r.findings for r in VAL] + [f"{hf.eos_token} {VAL[0].findings}"]
    for special in (True, False):
        ids = copy(texts, add_special_tokens=special)["input_ids"]
        assert ids == hf(texts, add_special_tokens=special)["input_ids"]
    assert copy.batch_decode(ids, skip_special_tokens=True) == hf.batch_decode(
        ids, skip_special_tokens=True
    )
    for name in ("pad_token_id", "eos_token_id", "bos_token_id", "unk_token_id", "all_special_ids"):
        assert getattr(copy, name) == getattr(hf, name), name
    assert copy.get_vocab() == hf.get_vocab()


def test_a_causal_copy_keeps_its_stop_ids_so_loading_decodes_no_vocabulary(tmp_path, monkeypatch):
    """Finding the newline tokens decodes the whole vocabulary (2.3 s for Gemma's 262k): the
    export does it once (the pruned vocabulary keeps the same ids) and saves them, and a copy
    exported before they were saved still finds them at load and drafts the same."""
    from radimpress.models import causal

    model, _ = train_tiny(tiny_recipe("causal", train={"max_steps": 60}), TRAIN)
    folder = tmp_path / "model"
    model.save(folder)
    calls = []
    found = causal.newline_ids
    spy = lambda tok: calls.append(1) or found(tok)  # noqa: E731
    monkeypatch.setattr(causal, "newline_ids", spy)
    export(folder, quantization="float32", shortlist=True)
    assert len(calls) == 1
    saved = json.loads((folder / "ctranslate2" / STOP_IDS).read_text())
    assert saved == load_model(folder, backend="hf").stop_token_ids()
    assert set(saved) <= set(json.loads((folder / "ctranslate2" / KEPT_IDS).read_text()))

    def decodes_the_vocabulary(tokenizer):
        raise AssertionError("the copy's stop ids were found again at load")

    monkeypatch.setattr(causal, "newline_ids", decodes_the_vocabulary)
    fast = load_model(folder, backend="ctranslate2")
    expected = fast.generate(VAL, num_candidates=1, num_beams=1)
    assert fast.stop_token_ids() == saved

    monkeypatch.setattr(causal, "newline_ids", found)
    (folder / "ctranslate2" / STOP_IDS).unlink()
    older = load_model(folder, backend="ctranslate2")
    assert older.generate(VAL, num_candidates=1, num_beams=1) == expected
    assert older.stop_token_ids() == saved


@pytest.mark.parametrize("trained", ["causal"], indirect=True)
@pytest.mark.parametrize("max_new_tokens", [64, 2])
def test_prompt_lookup_drafts_what_greedy_decoding_drafts(trained, tmp_path, max_new_tokens):
    """A causal copy checks the impression its prompt already holds in one pass; every draft
    must still be the greedy one, whether the guess is kept whole, in part, or cut short."""
    _, folder = trained
    folder = _copy(folder, tmp_path)
    export(folder, quantization="float32", shortlist=True)
    model = load_model(folder, backend="ctranslate2")
    greedy = {"num_beams": 1, "max_new_tokens": max_new_tokens}
    expected = load_model(folder, backend="hf").generate(VAL, **greedy)
    plain = model.generate(VAL, prompt_lookup=False, **greedy)
    assert model.fast.lookup_counts["prompts"] == 0
    assert model.generate(VAL, **greedy) == plain == expected
    counts = model.fast.lookup_counts
    assert counts["prompts"] == len(VAL)
    assert counts["kept"] > 0, "the tiny model copies its neighbours: some guesses are kept"
    # beams or several candidates decode as before
    model.fast.lookup_counts.clear()
    model.generate(VAL, num_candidates=2, num_beams=2)
    assert model.fast.lookup_counts["prompts"] == 0


@pytest.mark.parametrize("trained", ["causal"], indirect=True)
def test_a_copy_with_a_large_output_vocabulary_decodes_without_lookup(
    trained, tmp_path, monkeypatch
):
    """Scoring every position over Gemma's whole 262k vocabulary costs more than it saves."""
    _, folder = trained
    folder = _copy(folder, tmp_path)
    export(folder, quantization="float32")  # no shortlist: the tokenizer's whole vocabulary
    assert load_model(folder, backend="ctranslate2").fast.can_look_up
    monkeypatch.setattr(ctranslate2_backend, "LOOKUP_MAX_VOCABULARY", 100)
    model = load_model(folder, backend="ctranslate2")
    assert not model.fast.can_look_up
    assert model.generate(VAL, num_beams=1) == model.generate(VAL, num_beams=1, prompt_lookup=False)
    assert model.fast.lookup_counts["prompts"] == 0


@pytest.mark.parametrize("trained", ["causal"], indirect=True)
def test_a_prompt_too_long_for_one_pass_is_decoded_step_by_step(trained, tmp_path):
    """CTranslate2 scores at most the attention window in one pass (Gemma 3: 512 tokens), which
    a long prompt plus its guess can pass; that report is drafted as before, never failed."""
    _, folder = trained
    folder = _copy(folder, tmp_path)
    export(folder, quantization="float32", shortlist=True)
    model = load_model(folder, backend="ctranslate2")
    expected = model.generate(VAL, num_beams=1, prompt_lookup=False)
    engine, scored = model.fast.engine, []

    class Window:
        """The engine, with an attention window half the one-pass sequences exceed."""

        window = None

        def __getattr__(self, name):
            return getattr(engine, name)

        def forward_batch(self, tokens):
            scored.append(len(tokens[0]))
            if self.window is not None and len(tokens[0]) > self.window:
                raise ValueError(f"buffer to copy is of size {len(tokens[0])} but current ...")
            return engine.forward_batch(tokens)

    model.fast.engine = Window()
    model.generate(VAL, num_beams=1)
    Window.window = sorted(scored)[len(scored) // 2]
    model.fast.lookup_counts.clear()
    assert model.generate(VAL, num_beams=1) == expected
    counts = model.fast.lookup_counts
    assert counts["prompts"] == len(VAL) and 0 < counts["too_long"] < len(VAL)
    assert Window.window <= model.fast.lookup_limit < max(scored)  # learnt from the failures
