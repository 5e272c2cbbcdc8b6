"""Drafting a whole archive on a Ray cluster: read in blocks, one Drafter per actor, shards out.

An archive of millions of reports is days of drafting on one machine. Ray
Data spreads it over a cluster without a scheduler of our own: the input
(JSONL or Parquet) is read in blocks, each block goes to an actor of a pool
(one model loaded per actor, `map_batches`), and every drafted block is
written as one shard. The actors draft through the same `Drafter` as
`radimpress generate`, and the rows are the same dicts, so the predictions
are those of `generate` on the same model and input.

Resuming: shards are written under a temporary name and renamed, and named
after the ids they hold, so a shard is either complete or absent, and a
re-run (after a crash, a kill or a pre-empted node) drafts only the ids that
no shard holds yet. A line that is not a usable report goes to
``rejects/`` with its reason, never into the predictions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import ray
from ray.data import ActorPoolStrategy, Datasink

from radimpress.drafting.cli import result_row
from radimpress.drafting.drafter import Drafter, DraftOptions
from radimpress.records import InputError, Report
from radimpress.threads import configure_threads

log = logging.getLogger(__name__)

FORMATS = ("jsonl", "parquet")
SUMMARY = "summary.json"
IO_CPUS = 1  # what the read, repartition and write tasks need beside the actors
IO_TASK = {"num_cpus": 0.25}  # they mostly wait on files
REJECTS = "rejects"


@dataclass
class BatchJob:
    """Everything a batch run needs; the actors get it whole."""

    model: str
    input: str
    output: str
    address: str | None = None
    actors: int | None = None
    threads: int = 1  # per actor
    gpus_per_actor: float = 0.0
    batch_size: int = 64  # reports per actor call
    shard_rows: int = 256  # reports per output shard (at least)
    format: str = "jsonl"
    backend: str = "auto"
    safety_checks: bool = True
    safe_select: bool = True
    fallback: bool = True
    options: dict[str, Any] = field(default_factory=dict)  # DraftOptions fields

    @property
    def out(self) -> Path:
        return Path(self.output)


# -- what a re-run knows -------------------------------------------------------


def shard_paths(out: Path, fmt: str) -> list[Path]:
    return sorted(out.glob(f"part-*.{fmt}"))


def done_ids(out: Path, fmt: str) -> set[str]:
    """Ids of the reports that complete shards already hold (partial files are never renamed in)."""
    done: set[str] = set()
    for path in shard_paths(out, fmt):
        if fmt == "parquet":
            ids = pq.read_table(path, columns=["id"]).column("id").to_pylist()
        else:
            with path.open(encoding="utf-8") as fh:
                ids = [json.loads(line)["id"] for line in fh if line.strip()]
        done.update(str(i) for i in ids)
    return done


def clear_partial(out: Path) -> int:
    """Remove the temporary files a killed run left (their reports are drafted again)."""
    partial = list(out.glob("*.tmp")) + list((out / REJECTS).glob("*.tmp"))
    for path in partial:
        path.unlink()
    return len(partial)


# -- the actor -----------------------------------------------------------------


def parse_line(line: str, where: str) -> Report:
    """One input record, read as `radimpress generate` reads a JSONL line."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"{where}: invalid JSON ({e.msg})") from None
    return Report.draftable(obj, where)


class DraftActor:
    """One model per actor, loaded once; drafts the blocks Ray hands it."""

    def __init__(self, job: BatchJob, done: set[str]) -> None:
        configure_threads(job.threads)
        self.job = job
        self.done = done
        self.options = DraftOptions(**job.options)
        self.drafter = Drafter.from_model_dir(
            job.model,
            backend=job.backend,
            safety_checks=job.safety_checks,
            safe_select=job.safe_select,
            fallback=job.fallback,
        )
        self.drafter.model.progress = False

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        reports, rejects = self._reports(batch)
        ids: list[str] = []
        rows: list[str] = []
        kinds: list[str] = []
        if reports:
            for result in self.drafter.draft(reports, self.options):
                ids.append(str(result.report_id))
                rows.append(_dumps(result_row(result, self.options.num_candidates)))
                kinds.append("draft")
        for where, reason, text in rejects:
            ids.append(where)
            rows.append(_dumps({"where": where, "reason": reason, "record": text[:2000]}))
            kinds.append("reject")
        return {"id": ids, "row": rows, "kind": kinds}

    def _reports(
        self, batch: dict[str, np.ndarray]
    ) -> tuple[list[Report], list[tuple[str, str, str]]]:
        reports, rejects = [], []
        if "text" in batch:  # JSONL, read as lines of text
            records = [(str(t), f"{self.job.input}") for t in batch["text"]]
        else:  # Parquet: one column per field
            columns = list(batch)
            records = [
                (json.dumps({c: _plain(batch[c][i]) for c in columns}), self.job.input)
                for i in range(len(batch[columns[0]]))
            ]
        for text, where in records:
            if not text.strip():
                continue
            try:
                report = parse_line(text, where)
            except InputError as e:
                rejects.append((where, str(e), text))
                continue
            if str(report.id) not in self.done:
                reports.append(report)
        return reports, rejects


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _dumps(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False)


# -- the shards ----------------------------------------------------------------


class ShardSink(Datasink):
    """Each write task's rows become one shard, written to a temporary name and renamed.

    The name is a hash of the ids inside, so a write Ray retries replaces the
    same file rather than adding a second copy of the same drafts.
    """

    def __init__(self, out: Path, fmt: str, shard_rows: int) -> None:
        self.out = out
        self.fmt = fmt
        self.shard_rows = shard_rows

    @property
    def min_rows_per_write(self) -> int | None:
        return self.shard_rows

    def write(self, blocks: Iterable[Any], ctx: Any) -> dict[str, int]:
        drafts: list[tuple[str, str]] = []
        rejects: list[str] = []
        for block in blocks:
            table = block if isinstance(block, pa.Table) else pa.Table.from_pandas(block)
            for i, row, kind in zip(
                table.column("id").to_pylist(),
                table.column("row").to_pylist(),
                table.column("kind").to_pylist(),
                strict=True,
            ):
                (drafts.append((i, row)) if kind == "draft" else rejects.append(row))
        if drafts:
            name = hashlib.sha1("\n".join(i for i, _ in drafts).encode()).hexdigest()[:20]
            self._write(self.out / f"part-{name}.{self.fmt}", [r for _, r in drafts])
        if rejects:
            name = hashlib.sha1("\n".join(rejects).encode()).hexdigest()[:20]
            folder = self.out / REJECTS
            folder.mkdir(exist_ok=True)
            _write_lines(folder / f"rejects-{name}.jsonl", rejects)
        return {"drafts": len(drafts), "rejects": len(rejects)}

    def _write(self, path: Path, rows: list[str]) -> None:
        if self.fmt == "jsonl":
            _write_lines(path, rows)
            return
        objs = [json.loads(r) for r in rows]
        table = pa.table(
            {
                "id": [o["id"] for o in objs],
                "prediction": [o["prediction"] for o in objs],
                "warnings": [json.dumps(o["warnings"], ensure_ascii=False) for o in objs],
                **(
                    {
                        "candidates": [o["candidates"] for o in objs],
                        "candidate_warnings": [
                            json.dumps(o["candidate_warnings"], ensure_ascii=False) for o in objs
                        ],
                    }
                    if objs and "candidates" in objs[0]
                    else {}
                ),
            }
        )
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(table, tmp)
        tmp.replace(path)


def _write_lines(path: Path, rows: list[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(r + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)


# -- the run -------------------------------------------------------------------


def read_input(path: Path) -> ray.data.Dataset:
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.suffix == ".jsonl" or (path.is_dir() and any(path.glob("*.jsonl"))):
        return ray.data.read_text(str(path), drop_empty_lines=True, **IO_TASK)
    if path.suffix == ".parquet" or (path.is_dir() and any(path.glob("*.parquet"))):
        return ray.data.read_parquet(str(path), **IO_TASK)
    raise InputError(f"{path}: expected a .jsonl or .parquet file (or a folder of them)")


def actor_count(job: BatchJob) -> int:
    """--actors, else as many as the cluster's CPUs (or GPUs) hold at the threads asked."""
    if job.actors:
        return job.actors
    resources = ray.cluster_resources()
    if job.gpus_per_actor:
        return max(1, int(resources.get("GPU", 0) // job.gpus_per_actor))
    # One CPU stays free for the reading and writing tasks, or the pipeline waits forever.
    return max(1, int((resources.get("CPU", 1) - IO_CPUS) // job.threads))


def run(job: BatchJob) -> dict[str, Any]:
    """Draft every report of ``job.input`` that no shard of ``job.output`` holds yet."""
    if job.format not in FORMATS:
        raise InputError(f"format '{job.format}': expected one of {', '.join(FORMATS)}")
    out = job.out
    out.mkdir(parents=True, exist_ok=True)
    cleared = clear_partial(out)
    done = done_ids(out, job.format)
    if cleared or done:
        log.info(
            "resuming: %d reports already drafted, %d partial files removed", len(done), cleared
        )
    # A cluster on this machine's loopback (tests, one big box): attach the driver there too,
    # or Ray looks for a node at the machine's network address.
    host = (job.address or "").rpartition(":")[0]
    loopback = {"_node_ip_address": host} if host.startswith("127.") else {}
    # No runtime_env: Ray starts a job's workers with it, so none of the workers a node keeps
    # started could be used (200 reports on a warm 2-node cluster here, 5 paired runs: median
    # wall 0.89 of the runs with one). The actors set their own threads (`DraftActor`).
    ray.init(
        address=job.address,
        **loopback,
        log_to_driver=False,
        **({} if job.address else {"num_cpus": (job.actors or 2) * job.threads + IO_CPUS}),
    )
    try:
        actors = actor_count(job)
        start = time.perf_counter()
        ds = read_input(Path(job.input)).repartition(target_num_rows_per_block=job.batch_size)
        drafted = ds.map_batches(
            DraftActor,
            fn_constructor_kwargs={"job": job, "done": done},
            batch_size=job.batch_size,
            compute=ActorPoolStrategy(size=actors),
            num_cpus=job.threads,
            num_gpus=job.gpus_per_actor or None,
            batch_format="numpy",
        )
        drafted.write_datasink(ShardSink(out, job.format, job.shard_rows), ray_remote_args=IO_TASK)
        seconds = time.perf_counter() - start
    finally:
        ray.shutdown()
    total = done_ids(out, job.format)
    new = len(total) - len(done)
    summary = {
        **{k: v for k, v in asdict(job).items() if k != "options"},
        "options": job.options,
        "actors": actors,
        "already_drafted": len(done),
        "drafted": new,
        "total_drafted": len(total),
        "shards": len(shard_paths(out, job.format)),
        "rejected": sum(sum(1 for _ in p.open()) for p in (out / REJECTS).glob("rejects-*.jsonl")),
        "seconds": round(seconds, 2),
        "reports_per_second": round(new / seconds, 2) if seconds > 0 else None,
    }
    (out / SUMMARY).write_text(json.dumps(summary, indent=2))
    return summary


def collect(out: Path, fmt: str = "jsonl") -> dict[str, dict[str, Any]]:
    """Every drafted row of an output folder by id (for checks and small archives)."""
    rows: dict[str, dict[str, Any]] = {}
    for path in shard_paths(out, fmt):
        if fmt == "parquet":
            for obj in pq.read_table(path).to_pylist():
                obj["warnings"] = json.loads(obj["warnings"])
                if "candidate_warnings" in obj:
                    obj["candidate_warnings"] = json.loads(obj["candidate_warnings"])
                rows[str(obj["id"])] = obj
        else:
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        obj = json.loads(line)
                        rows[str(obj["id"])] = obj
    return rows
