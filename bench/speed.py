"""Drafting speed: CTranslate2 against transformers, and Ray against one process, in one run.

One command::

    RADIMPRESS_THREADS=2 python bench/speed.py [--data DATA] [--reports 200] [--gemma-reports 200]
        [--ray-reports 200,1000]

1. A T5 from scratch (``t5-scratch-rag``, a short budget: ``train.max_steps``
   = ``--t5-steps``) and Gemma 3 270M used in context (``gemma3-270m-icl``)
   are trained (or found in ``--work``) on DATA (a ``radimpress dataset
   build`` folder of the Open-i reports; built from
   /work/shared/datasets/openi/reports.csv when absent and that file exists).
2. Each model drafts the same first ``--reports`` test reports (Gemma: the
   first ``--gemma-reports`` of them), beam 4, 16 reports per batch, on
   ``RADIMPRESS_THREADS`` threads, each configuration in its own process so
   its peak RSS is its own (T5: each configuration ``--repeats`` times, in
   turn, for medians and paired ratios): transformers ``generate`` in float32
   (the baseline; for T5 on a CPU with AMX also in bf16, radimpress's default there), then
   CTranslate2 copies (int8; for T5 also float32, which says whether int8
   kernels are the lever on this CPU; int8 with the vocabulary shortlist;
   for Gemma also a short prompt: one in-context example instead of four). Reported:
   reports/s of the generation step, the ratio to the baseline, ROUGE-L of
   the drafts against the reference impressions, peak RSS, load time. With
   ``--gemma-finetuned``, the fine-tuned model and its int8 and float32 copies
   also draft ``--gemma-quality-reports`` reports, to hold the copies' ROUGE-L
   against the model's own on more reports than the timed rows.
3. Ray: the T5 int8 copy drafts the same reports through ``radimpress
   batch`` on a two-node Ray cluster on the loopback (2 actors of 1 thread)
   and through ``radimpress generate`` (one process, 2 threads): identical
   predictions?, throughput ratio, the cluster's first job and a second one
   (the first also starts Ray Data's own actors); then a batch run is killed after its
   first shards and resumed: nothing lost, nothing drafted twice. Each further
   size of ``--ray-reports`` repeats the comparison on a larger archive (the
   test reports repeated under new ids), where start-up weighs less. The
   first run uses blocks of 16 reports (so that the kill lands between shards);
   every size is then run again with `radimpress batch`'s own blocks (64
   reports a call, shards of 256), which is what the steady-state ratio is
   taken from.

Writes bench/results/speed.json and the ``## Speed`` section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks_md import command_line, machine, replace_section, utc_now  # noqa: E402
from radimpress.evaluate.rouge import rouge_scores  # noqa: E402
from radimpress.models.base import load_model  # noqa: E402
from radimpress.models.cpu import CPU_DTYPE_ENV, cpu_flags  # noqa: E402
from radimpress.records import read_jsonl, read_reports, write_jsonl  # noqa: E402
from radimpress.threads import configure_threads  # noqa: E402
from support import ray_cluster, ray_env  # noqa: E402

OPENI = Path("/work/shared/datasets/openi/reports.csv")
RESULTS = ROOT / "bench" / "results"
BEAMS, BATCH = 4, 16
# Ray blocks: (reports per actor call, reports per shard). Small ones let the kill-and-resume
# check stop a run between shards; None is `radimpress batch`'s defaults.
SMALL_BLOCKS = (16, 16)
ROUGE_SCORING = "no stemming"  # before 2026-12-02 this script scored with rouge-score's stemmer
# what a part of results is made of (`keep_other_machine` moves them together)
PART_KEYS = ("", "_run", "_load", "_steps", "_notes", "_rouge", "_more")


def run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("$", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kwargs)


def radimpress(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "radimpress", *args], env=env)


# -- data and models -------------------------------------------------------------


def dataset(work: Path, data: Path | None) -> Path:
    if data is not None:
        return data
    out = work / "data"
    if (out / "test.jsonl").exists():
        return out
    if not OPENI.exists():
        sys.exit(f"skipped: {OPENI} is absent and no --data was given")
    radimpress("ingest", str(OPENI), "--out", str(work / "ingested"))
    radimpress("dataset", "build", "--input", str(work / "ingested"), "--out", str(out))
    return out


def trained(work: Path, data: Path, name: str, recipe: str, *sets: str) -> Path:
    out = work / name
    if (out / "radimpress.json").exists():
        return out
    args = ["train", "--recipe", recipe, "--data", str(data), "--out", str(out)]
    for item in sets:
        args += ["--set", item]
    radimpress(*args)
    return out


def exported(model: Path, quantization: str, shortlist: bool = False) -> Path:
    """A copy of the model folder with its own CTranslate2 export (export writes into the folder)."""
    name = f"{quantization}-shortlist" if shortlist else quantization
    out = model.parent / f"{model.name}-{name}"
    if not (out / "ctranslate2" / "model.bin").exists():
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(model, out, ignore=shutil.ignore_patterns("checkpoints", "ctranslate2"))
        flags = ["--quantization", quantization] + (["--vocabulary-shortlist"] if shortlist else [])
        radimpress("export", "--model", str(out), "--format", "ctranslate2", *flags)
    return out


# -- one configuration in its own process ------------------------------------------


def worker(args: argparse.Namespace) -> None:
    """Child process: load, draft, write predictions and timings (the parent reads peak RSS)."""
    threads = configure_threads(None)
    start = time.perf_counter()
    model = load_model(args.model, backend=args.backend)
    loaded = time.perf_counter() - start
    reports = read_reports(args.input)
    model.progress = False
    start = time.perf_counter()
    drafts = model.generate(reports, 1, num_beams=BEAMS, batch_size=BATCH)
    seconds = time.perf_counter() - start
    write_jsonl(
        args.output,
        [{"id": r.id, "prediction": d[0]} for r, d in zip(reports, drafts, strict=True)],
    )
    Path(args.output + ".timing.json").write_text(
        json.dumps(
            {
                "load_s": round(loaded, 1),
                "generate_s": round(seconds, 3),
                "reports": len(reports),
                "threads": threads,
                "backend": model.backend,
                "device": model.device_name,
            }
        )
    )


def measure(label: str, model: Path, backend: str, reports: Path, out: Path) -> dict:
    """One configuration in its own process. ``backend``: hf (transformers in float32, whatever
    the CPU), hf-bf16 (transformers in bf16) or ctranslate2."""
    preds = out / f"{label}.jsonl"
    dtype = "bfloat16" if backend == "hf-bf16" else "float32"
    backend = backend.removesuffix("-bf16")
    cmd = [sys.executable, __file__, "--worker", "--model", str(model), "--backend", backend,
           "--input", str(reports), "--output", str(preds)]  # fmt: skip
    print(f"$ {CPU_DTYPE_ENV}={dtype}", " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, env={**os.environ, CPU_DTYPE_ENV: dtype})
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{label}: worker failed")
    timing = json.loads(Path(str(preds) + ".timing.json").read_text())
    return {
        "label": label,
        **timing,
        "reports_per_s": round(timing["reports"] / timing["generate_s"], 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "rougeL": rouge_l(preds, reports),
    }


def measure_in_turn(
    configs: list[tuple[str, Path, str]], reports: Path, out: Path, repeats: int
) -> list[dict]:
    """Each configuration ``repeats`` times, in turn (A B C A B C ...), medians and paired ratios.

    Why in turn: a shared machine's speed drifts over minutes, and a configuration timed once,
    minutes after its baseline, carries that drift into its ratio. Run k of every configuration
    sits between the same neighbours, so the ratio of run k to the baseline's run k is paired;
    the table quotes the median of those ratios and their range.
    """
    runs = [[measure(*c, reports, out) for c in configs] for _ in range(repeats)]
    rows = []
    for i, (label, _, _) in enumerate(configs):
        mine = [run[i] for run in runs]
        ratios = sorted(run[0]["generate_s"] / run[i]["generate_s"] for run in runs)
        seconds = statistics.median(m["generate_s"] for m in mine)
        rows.append(
            {
                **mine[-1],
                "label": label,
                "runs": repeats,
                "generate_s": round(seconds, 3),
                "generate_s_all": [m["generate_s"] for m in mine],
                "reports_per_s": round(mine[-1]["reports"] / seconds, 3),
                "speedup": round(statistics.median(ratios), 2),
                "speedup_range": [round(ratios[0], 2), round(ratios[-1], 2)],
                "peak_rss_mb": max(m["peak_rss_mb"] for m in mine),
                "load_s": statistics.median(m["load_s"] for m in mine),
            }
        )
    return compare(rows)


def rouge_l(preds: Path, reports: Path) -> float:
    """ROUGE-L F1 x100 as `radimpress evaluate` and the quality tables score it (no stemming)."""
    refs = {r.id: r.impression or "" for r in read_reports(reports)}
    rows = [row for _, row in read_jsonl(preds)]
    scores = rouge_scores([row["prediction"] for row in rows], [refs[row["id"]] for row in rows])
    return round(100 * float(scores["rougeL"].mean()), 2)


def compare(rows: list[dict]) -> list[dict]:
    base = rows[0]
    for r in rows:
        r.setdefault("speedup", round(r["reports_per_s"] / base["reports_per_s"], 2))
        r["rougeL_delta"] = round(r["rougeL"] - base["rougeL"], 2)
    return rows


# -- Ray ----------------------------------------------------------------------------


def archive(test: list, n: int, work: Path) -> Path:
    """``n`` reports for the Ray part: the test reports, repeated under new ids past their count."""
    rows = [
        dataclasses.replace(r, id=f"{r.id}#{k}" if k else r.id)
        for k in range(-(-n // len(test)))
        for r in test
    ][:n]
    path = work / f"ray-reports-{n}.jsonl"
    write_jsonl(path, rows)
    return path


def ray_part(
    model: Path,
    reports: Path,
    out: Path,
    resume_check: bool = True,
    blocks: tuple[int, int] | None = SMALL_BLOCKS,
    beams: int | None = BEAMS,
) -> dict:
    """One process against `radimpress batch` on a 2-node local cluster; ``beams`` None: the
    model's own decoding."""
    from radimpress.drafting.batch import collect  # optional extra: radimpress[ray]

    decoding = ["--num-beams", str(beams)] if beams is not None else []
    single = out / "ray-single.jsonl"
    start = time.perf_counter()
    radimpress("generate", "--model", str(model), "--input", str(reports), "--output", str(single),
               *decoding, "--threads", "2")  # fmt: skip
    single_s = time.perf_counter() - start
    expected = {row["id"]: row for _, row in read_jsonl(single)}
    result: dict = {
        "reports": len(expected),
        "single_process_s": round(single_s, 1),
        "blocks": list(blocks) if blocks else None,
    }
    with ray_cluster() as address:
        shards = out / "ray-shards"
        shutil.rmtree(shards, ignore_errors=True)
        cmd = [sys.executable, "-m", "radimpress", "batch", "--model", str(model),
               "--input", str(reports), "--output", str(shards), "--ray", address,
               "--actors", "2", *decoding]  # fmt: skip
        if blocks is not None:
            cmd += ["--batch-size", str(blocks[0]), "--shard-rows", str(blocks[1])]
        start = time.perf_counter()
        run(cmd, env=ray_env())
        ray_s = time.perf_counter() - start
        summary = json.loads((shards / "summary.json").read_text())
        got = collect(shards)
        # The same job again on the same cluster: a cluster's first job also starts Ray Data's
        # own detached actors (stats, autoscaling, actor locations), which later jobs find.
        shutil.rmtree(shards)
        start = time.perf_counter()
        run(cmd, env=ray_env())
        warm_s = time.perf_counter() - start
        result.update(
            ray_wall_s=round(ray_s, 1),
            ray_pipeline_s=summary["seconds"],
            identical=got == expected,
            differing_ids=sorted(i for i in expected if got.get(i) != expected[i])[:10],
            throughput_ratio_wall=round(single_s / ray_s, 2),
            throughput_ratio_pipeline=round(single_s / summary["seconds"], 2),
            ray_warm_wall_s=round(warm_s, 1),
            throughput_ratio_warm=round(single_s / warm_s, 2),
            identical_warm=collect(shards) == expected,
        )
        if not resume_check:
            return result
        # Killed after its first shards, then resumed.
        shutil.rmtree(shards)
        proc = subprocess.Popen(cmd, env=ray_env(), start_new_session=True)
        while len(list(shards.glob("part-*.jsonl"))) < 2 and proc.poll() is None:
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(8)  # the dead driver's actors stop
        before = len(collect(shards))
        run(cmd, env=ray_env())
        ids = [
            json.loads(line)["id"]
            for p in shards.glob("part-*.jsonl")
            for line in p.read_text().splitlines()
        ]
        result.update(
            killed_after=before,
            resumed_total=len(ids),
            drafted_twice=len(ids) - len(set(ids)),
            lost=len(set(expected) - set(ids)),
            identical_after_resume=collect(shards) == expected,
        )
    return result


# -- report -------------------------------------------------------------------------


def warm_line(r: dict) -> str:
    if "ray_warm_wall_s" not in r:  # a result file from before the warm run was measured
        return "A second job on the same cluster: not measured in this run."
    return (
        f"The same job again on the same cluster (a cluster's first job also starts Ray Data's "
        f"own actors, which later jobs find running): {r['ray_warm_wall_s']} s end to end, "
        f"throughput ratio {r['throughput_ratio_warm']}. Identical predictions: "
        f"{r['identical_warm']}."
    )


def elsewhere(results: dict, part: str, rows_of) -> list[str]:
    """The part's tables from other kinds of CPU (`keep_other_machine`), after this one's."""
    lines: list[str] = []
    for other, kept in results.get(f"{part}_elsewhere", {}).items():
        rows = rows_of(kept)
        lines += [
            f"#### The same part on another CPU: {other}",
            "",
            loaded(kept, part),
            "",
            table(rows),
            "",
            *([in_turn_line(rows), ""] if part == "t5" else []),
            *rouge_line(kept, part),
            *[line for note in kept.get(f"{part}_notes", []) for line in (note, "")],
        ]
    return lines


def rouge_line(results: dict, part: str) -> list[str]:
    if results.get(f"{part}_rouge") == ROUGE_SCORING:
        return []
    return [
        "ROUGE-L in this table was scored with rouge-score's stemmer (as this script did "
        "before 2026-12-02); the other tables score without it, like `radimpress evaluate`.",
        "",
    ]


def in_turn_line(rows: list[dict]) -> str:
    runs = rows[0].get("runs", 1)
    if runs == 1:
        return "Each configuration timed once (--repeats 1, or a result file from before it)."
    return (
        f"Each configuration ran {runs} times, in turn; reports/s is from the median generation "
        "time, × baseline the median of the paired ratios (run k against the baseline's run k), "
        "its range in brackets."
    )


def table(rows: list[dict]) -> str:
    lines = [
        "| configuration | reports/s | × baseline | ROUGE-L | Δ ROUGE-L | peak RSS MB | load s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        speedup = str(r["speedup"])
        if r.get("runs", 1) > 1 and r is not rows[0]:
            low, high = r["speedup_range"]
            speedup += f" ({low}–{high})"
        lines.append(
            f"| {r['label']} | {r['reports_per_s']} | {speedup} | {r['rougeL']} | "
            f"{r['rougeL_delta']:+} | {r['peak_rss_mb']} | {r['load_s']} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, help="dataset folder (default: built from Open-i)")
    p.add_argument("--work", type=Path, default=Path("/tmp/radimpress-speed"))
    p.add_argument("--reports", type=int, default=200)
    p.add_argument("--gemma-reports", type=int, default=200)
    p.add_argument(
        "--gemma-finetuned",
        metavar="DIR",
        help="a Gemma 3 270M LoRA model folder (bench/gemma_experiments.py), for two more rows",
    )
    p.add_argument("--t5-steps", type=int, default=60, help="a short budget: speed, not quality")
    p.add_argument("--t5-batch", type=int, default=32)
    p.add_argument(
        "--ray-reports",
        default="200",
        help="comma-separated archive sizes for the Ray part; past the test split the reports "
        "repeat under new ids (the kill-and-resume check runs on the first size)",
    )
    p.add_argument(
        "--gemma-quality-reports",
        type=int,
        default=48,
        help="test reports for the fine-tuned copies' quality check (with --gemma-finetuned)",
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="T5 part: each configuration this many times, in turn; medians and paired ratios",
    )
    p.add_argument(
        "--ray-gemma",
        action="store_true",
        help="Ray part for a language model: the first --ray-reports archive drafted with "
        "--gemma-finetuned's int8 + shortlist copy, greedy as its recipe drafts (Ray's fixed "
        "start weighs less there); runs with --skip ray too",
    )
    p.add_argument("--skip", nargs="*", default=[], choices=["t5", "gemma", "gemma-quality", "ray"])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--model", help=argparse.SUPPRESS)
    p.add_argument("--backend", help=argparse.SUPPRESS)
    p.add_argument("--input", help=argparse.SUPPRESS)
    p.add_argument("--output", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        worker(args)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    out = args.work / "runs"
    out.mkdir(exist_ok=True)
    data = dataset(args.work, args.data)
    test = [r for r in read_reports(data / "test.jsonl") if r.trainable]
    reports = args.work / "reports.jsonl"
    write_jsonl(reports, test[: args.reports])
    gemma_reports = args.work / "gemma-reports.jsonl"
    write_jsonl(gemma_reports, test[: args.gemma_reports])
    threads = os.environ.get("RADIMPRESS_THREADS", "half the cores")
    path = RESULTS / "speed.json"
    # Parts skipped in this run keep their last numbers, and the generation parts their
    # threads: a run of the Ray part alone must not relabel them.
    results: dict = json.loads(path.read_text()) if path.exists() else {}
    if not {"t5", "gemma", "gemma-quality"} <= set(args.skip) or "threads" not in results:
        results.update(threads=threads, beams=BEAMS, batch=BATCH)

    if "t5" not in args.skip:
        t5 = trained(args.work, data, "t5rag", "t5-scratch-rag", f"train.max_steps={args.t5_steps}",
                     f"train.batch_size={args.t5_batch}", "train.eval_samples=0")  # fmt: skip
        start_part(results, "t5")  # after training: the load the timed runs start under
        # the folder may be from an earlier run (trained() reuses it): its own steps, not --t5-steps
        metrics = json.loads((t5 / "radimpress.json").read_text()).get("train_metrics") or {}
        results["t5_steps"] = metrics.get("steps")
        configs = [("T5 transformers fp32", t5, "hf")]
        if "amx_bf16" in cpu_flags():  # where radimpress drafts in bf16 by default
            configs.append(("T5 transformers bf16", t5, "hf-bf16"))
        for quantization, shortlist in (("int8", False), ("float32", False), ("int8", True)):
            label = f"T5 CTranslate2 {quantization}" + (" + shortlist" if shortlist else "")
            configs.append((label, exported(t5, quantization, shortlist), "ctranslate2"))
        results["t5"] = measure_in_turn(configs, reports, out, args.repeats)
        results["t5_run"] = measured_now()
        results["t5_rouge"] = ROUGE_SCORING
    if "gemma" not in args.skip:
        gemma = trained(args.work, data, "gemma-icl", "gemma3-270m-icl", "train.eval_samples=0")
        short = trained(args.work, data, "gemma-icl-short", "gemma3-270m-icl",
                        "train.eval_samples=0", "prompt.icl_k=1")  # fmt: skip
        start_part(results, "gemma")  # after the conversions: the load the timed runs start under
        rows = [measure("Gemma transformers fp32 (4 examples)", gemma, "hf", gemma_reports, out)]
        rows.append(
            measure(
                "Gemma CTranslate2 int8", exported(gemma, "int8"), "ctranslate2", gemma_reports, out
            )
        )
        for quantization in ("int8", "float32"):  # float32: what int8 alone costs in quality
            rows.append(
                measure(
                    f"Gemma CTranslate2 {quantization} + shortlist",
                    exported(gemma, quantization, shortlist=True),
                    "ctranslate2",
                    gemma_reports,
                    out,
                )
            )
        rows.append(
            measure(
                "Gemma CTranslate2 int8 + shortlist + 1 example",
                exported(short, "int8", shortlist=True),
                "ctranslate2",
                gemma_reports,
                out,
            )
        )
        if args.gemma_finetuned:
            # A fine-tuned model from bench/gemma_experiments.py (its folder's parent names the
            # experiment); with a findings-only prompt it has the lever in-context use cannot.
            tuned = Path(args.gemma_finetuned)
            rows.append(
                measure(f"Gemma LoRA fine-tuned ({tuned.parent.name}), transformers fp32",
                        tuned, "hf", gemma_reports, out)
            )  # fmt: skip
            for quantization in ("int8", "float32"):
                label = f"Gemma LoRA fine-tuned ({tuned.parent.name}), CTranslate2 {quantization}"
                copy = exported(tuned, quantization, shortlist=True)
                rows.append(
                    measure(label + " + shortlist", copy, "ctranslate2", gemma_reports, out)
                )
        results["gemma"] = compare(rows)
        results["gemma_run"] = measured_now()
        results["gemma_rouge"] = ROUGE_SCORING
    if "gemma-quality" not in args.skip and args.gemma_finetuned:
        # 12 reports time the copies against the slow baseline; they are too few to hold a
        # copy's ROUGE-L to half a point, so the fine-tuned copies draft more reports here.
        tuned = Path(args.gemma_finetuned)
        start_part(results, "gemma_quality")
        many = args.work / "gemma-quality-reports.jsonl"
        write_jsonl(many, test[: args.gemma_quality_reports])
        copies = [("transformers fp32", tuned, "hf")] + [
            (f"CTranslate2 {q} + shortlist", exported(tuned, q, shortlist=True), "ctranslate2")
            for q in ("int8", "float32")
        ]
        rows = [measure(f"fine-tuned {label}", m, b, many, out) for label, m, b in copies]
        results["gemma_quality"] = {"model": tuned.parent.name, "rows": compare(rows)}
        results["gemma_quality_run"] = measured_now()
        results["gemma_quality_rouge"] = ROUGE_SCORING
    if "ray" not in args.skip:
        t5_int8 = exported(args.work / "t5rag", "int8")
        start_part(results, "ray")
        sizes = [int(n) for n in args.ray_reports.split(",") if n.strip()]
        results["ray"] = ray_part(t5_int8, archive(test, sizes[0], args.work), out)
        results["ray_more"] = [
            ray_part(t5_int8, archive(test, n, args.work), out, resume_check=False, blocks=None)
            for n in sizes
        ]
        results["ray_run"] = measured_now()
    if args.ray_gemma:
        if not args.gemma_finetuned:
            p.error("--ray-gemma drafts with the --gemma-finetuned model")
        tuned = exported(Path(args.gemma_finetuned), "int8", shortlist=True)
        start_part(results, "ray_gemma")
        n = int(args.ray_reports.split(",")[0])
        # The recipe's own decoding (greedy), as an archive would be drafted with it.
        run_ = ray_part(tuned, archive(test, n, args.work), out, resume_check=False, beams=None)
        results["ray_gemma"] = {**run_, "model": Path(args.gemma_finetuned).name}
        results["ray_gemma_run"] = measured_now()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2))
    write_section(results, args)


def start_part(results: dict, part: str) -> None:
    """Before a part runs: another CPU's table of it is kept aside, then this run's load
    is recorded (the other way round, the load went with the other CPU's table)."""
    keep_other_machine(results, part)
    results[f"{part}_load"] = load_average()


def keep_other_machine(results: dict, part: str) -> None:
    """Move a part measured on another kind of machine under ``{part}_elsewhere``.

    Why: the ratios depend on the CPU's instructions (CTranslate2's int8 kernels use VNNI or
    AMX where a CPU has them, transformers drafts in bf16 only with AMX), and the machines this
    runs on change between sessions, so one CPU's table must not overwrite another's.
    """
    kept = results.setdefault(f"{part}_elsewhere", {})
    kept.pop(machine(), None)  # this run replaces an older table of this kind of CPU
    run = results.get(f"{part}_run") or {}
    if part not in results or run.get("machine") in (None, machine()):
        return
    kept[run["machine"]] = {
        part + key: results.pop(part + key) for key in PART_KEYS if part + key in results
    }


def measured_now() -> dict[str, str]:
    """Which run measured a part: parts skipped in a later run keep their numbers and this."""
    return {"command": command_line(), "date": utc_now(), "machine": machine()}


def load_average() -> float:
    """The 1-minute load average before a part: above the core count, other jobs shared the box."""
    return round(os.getloadavg()[0], 1)


def loaded(results: dict, part: str) -> str:
    run = results.get(f"{part}_run")
    by = ""
    if run:
        on = f" on {run['machine']}" if "machine" in run else ""
        by = f"Measured by `{run['command']}` ({run['date']}{on}). "
    load = results.get(f"{part}_load")
    if load is None:
        return by + "1-minute load average not recorded (the machine was shared with other jobs)."
    return by + f"1-minute load average {load} on {os.cpu_count()} cores when this part started."


def write_section(results: dict, args: argparse.Namespace) -> None:
    parts = [
        "Each part below says how busy the machine was when it started; on a shared machine the "
        "absolute rates are low and noisy, and the ratios compare configurations measured "
        "minutes apart in the same part. Generation step only (model loaded), beam 4, "
        f"16 reports per batch, {results['threads']} thread(s), each configuration in its own "
        "process (peak RSS is that process's).",
        "",
    ]
    if "t5" in results:
        steps = results.get("t5_steps") or "a few"
        parts += [
            f"### T5 from scratch (`t5-scratch-rag`, {steps} training steps: "
            "a short budget, so its drafts are poor; the ratios are what is measured), "
            f"{results['t5'][0]['reports']} Open-i test reports",
            "",
            loaded(results, "t5"),
            "",
            table(results["t5"]),
            "",
            in_turn_line(results["t5"]),
            "",
            *rouge_line(results, "t5"),
            # what the run's numbers do not say by themselves (written by hand into speed.json)
            *[line for note in results.get("t5_notes", []) for line in (note, "")],
        ]
        parts += elsewhere(results, "t5", lambda kept: kept["t5"])
    if "gemma" in results:
        parts += [
            f"### Gemma 3 270M in context (`gemma3-270m-icl`), "
            f"{results['gemma'][0]['reports']} Open-i test reports",
            "",
            table(results["gemma"]),
            "",
            loaded(results, "gemma"),
            "The shortlist of a causal model is a pruned vocabulary (the tokens of the training "
            "prompts and impressions); the short prompt is `prompt.icl_k=1` (one retrieved "
            "example instead of four). The fine-tuned rows (if any) are a LoRA fine-tune of "
            "bench/gemma_experiments.py, named by its experiment (`-short`: the prompt is the "
            "findings alone, no instruction, no examples). × baseline is against the first row, "
            "today's in-context transformers path.",
            "",
            *rouge_line(results, "gemma"),
            *[line for note in results.get("gemma_notes", []) for line in (note, "")],
        ]
        parts += elsewhere(results, "gemma", lambda kept: kept["gemma"])
    else:
        parts += [
            "### Gemma 3 270M in context (`gemma3-270m-icl`)",
            "",
            "Not measured in this run: `python bench/speed.py --skip t5 ray --gemma-reports N` "
            "measures it (the transformers baseline drafts fewer than 0.03 reports/s at beam 4 "
            "with four examples in the prompt on this shared box).",
            "",
        ]
    if "gemma_quality" in results:
        q = results["gemma_quality"]
        parts += [
            f"### Gemma LoRA fine-tuned ({q['model']}): do the fast copies keep its quality? "
            f"{q['rows'][0]['reports']} Open-i test reports",
            "",
            table(q["rows"]),
            "",
            loaded(results, "gemma_quality"),
            "Same model, three ways of running it; × and Δ are against its own transformers "
            "drafts.",
            "",
            *rouge_line(results, "gemma_quality"),
            *[line for note in results.get("gemma_quality_notes", []) for line in (note, "")],
        ]
        parts += elsewhere(results, "gemma_quality", lambda kept: kept["gemma_quality"]["rows"])
    if "ray" in results:
        parts += ["### Ray: 2-node local cluster against one process", "", *ray_lines(results)]
        parts += other_cpus(results, "ray", ray_lines)
    if "ray_gemma" in results:
        parts += [
            "### Ray with the fine-tuned language model",
            "",
            *ray_gemma_lines(results),
        ]
        parts += other_cpus(results, "ray_gemma", ray_gemma_lines)
    replace_section("Speed", "\n".join(parts))


def other_cpus(results: dict, part: str, lines_of) -> list[str]:
    """A paragraph part's runs on other kinds of CPU (`keep_other_machine`), after this one's."""
    lines: list[str] = []
    for other, kept in results.get(f"{part}_elsewhere", {}).items():
        lines += [f"#### The same part on another CPU: {other}", "", *lines_of(kept)]
    return lines


def ray_blocks(run: dict) -> tuple[int, int] | None:
    """A Ray run's blocks; runs recorded before the key existed all used the small ones."""
    blocks = run.get("blocks", list(SMALL_BLOCKS))
    return tuple(blocks) if blocks else None


def blocks_phrase(run: dict) -> str:
    blocks = ray_blocks(run)
    if blocks is None:
        return "`radimpress batch`'s own blocks (64 reports a call, shards of 256)"
    return f"blocks of {blocks[0]} reports a call and shards of {blocks[1]}"


def ray_lines(results: dict) -> list[str]:
    """The Ray part's paragraphs for one run (this CPU's, or one kept from another CPU)."""
    r = results["ray"]
    parts = [
        loaded(results, "ray"),
        "",
        f"T5 int8 copy, {r['reports']} reports, beam 4, safety checks on. One process "
        f"(`radimpress generate --threads 2`): {r['single_process_s']} s. `radimpress batch` on "
        f"a head and a second node on the loopback, 2 actors of 1 thread, {blocks_phrase(r)}: "
        f"{r['ray_wall_s']} s end to end ({r['ray_pipeline_s']} s from the pipeline's start, "
        "actors loading included): throughput ratio "
        f"{r['throughput_ratio_wall']} end to end, {r['throughput_ratio_pipeline']} for the "
        f"pipeline. Identical predictions: {r['identical']}.",
        "",
        warm_line(r),
        "",
        f"Killed after its first shards ({r['killed_after']} reports drafted), then re-run: "
        f"{r['resumed_total']} rows, {r['drafted_twice']} drafted twice, {r['lost']} lost; "
        f"identical to one process: {r['identical_after_resume']}.",
        "",
    ]
    earlier = [r]
    for m in results.get("ray_more", []):
        text = (
            f"The same on {m['reports']} reports (the test reports, repeated under new ids where "
            f"more are needed) with {blocks_phrase(m)}: {ray_comparison(m)}"
        )
        base = next(
            (
                e
                for e in reversed(earlier)
                if ray_blocks(e) == ray_blocks(m) and e["reports"] < m["reports"]
            ),
            None,
        )
        if base is not None:
            # What the extra reports cost on each side: start-up (cluster workers, actors
            # importing and loading the model) drops out, so this is the steady-state ratio.
            extra = m["reports"] - base["reports"]
            single_s = m["single_process_s"] - base["single_process_s"]
            ray_s = m["ray_wall_s"] - base["ray_wall_s"]
            # time = start-up + reports × per-report time on each side; the start-ups' gap is
            # the smaller run's gap less what its reports cost Ray more
            startup_gap = (base["ray_wall_s"] - base["single_process_s"]) - (ray_s - single_s) * (
                base["reports"] / extra
            )
            text += (
                f" Against the {base['reports']} reports with the same blocks, the {extra} "
                f"reports more cost one process {single_s:.1f} s and Ray {ray_s:.1f} s: a "
                f"steady-state throughput ratio of {single_s / ray_s:.2f}; the rest of the gap "
                f"is a fixed start-up of about {startup_gap:.0f} s more than one process's."
            )
        parts += [text, "", warm_line(m), ""]
        earlier.append(m)
    return parts + [line for note in results.get("ray_notes", []) for line in (note, "")]


def ray_comparison(m: dict) -> str:
    """One Ray run against one process, in a sentence."""
    return (
        f"one process {m['single_process_s']} s; `radimpress batch` {m['ray_wall_s']} s end to "
        f"end ({m['ray_pipeline_s']} s pipeline): throughput ratio {m['throughput_ratio_wall']} "
        f"end to end, {m['throughput_ratio_pipeline']} for the pipeline. Identical predictions: "
        f"{m['identical']}."
    )


def ray_gemma_lines(results: dict) -> list[str]:
    """The language model's Ray part (`--ray-gemma`) for one run."""
    g = results["ray_gemma"]
    return [
        loaded(results, "ray_gemma"),
        "",
        f"{g['model']}'s CTranslate2 int8 + shortlist copy, the first {g['reports']} test "
        f"reports (repeated under new ids where more are needed), greedy as its recipe drafts, "
        f"safety checks on, the cluster and actors of the T5 part, {blocks_phrase(g)}: "
        f"{ray_comparison(g)}",
        "",
        warm_line(g),
        "",
    ]


if __name__ == "__main__":
    sys.exit(main())
