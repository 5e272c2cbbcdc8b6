"""The one path of a draft: clean the findings as the dataset did, ask the model for
candidates, check each against the findings, choose, and say why.

Every front door (``radimpress generate``, the REST API, the FHIR operation,
the MLLP listener, the demo) drafts through a `Drafter`, so they all read the
same text, honour the same options and put the same candidate first. The
server runs the model step through its micro-batcher and the checks in their
own process (`draft_async`); the command line runs both in process (`draft`).
The steps are written once (`Drafter.steps`): they ask for each model call and
each round of checks, and the two ways of drafting only say who runs them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from radimpress.dataset.clean import CleanOptions, clean_report
from radimpress.dataset.exams import Familiarity, exam_regions
from radimpress.drafting.checks import Checked, CheckItem, check_items
from radimpress.drafting.communication import clean_candidates
from radimpress.drafting.errors import FieldProblem, InvalidRequest
from radimpress.drafting.result import (
    CHECK_FAILED,
    DRAFTED_FROM_FINDINGS,
    DraftResult,
    DraftWarning,
    ModelInfo,
)
from radimpress.models.base import ImpressionModel, load_model, read_manifest
from radimpress.models.extractive import findings_sentences
from radimpress.records import Report
from radimpress.safety import append_recommendations, recommend, safest
from radimpress.safety.checks import blocking

# With safe selection on, at least this many candidates are drafted, so a safe
# alternative exists when the first one carries a high-severity warning.
SAFE_POOL = 3


@dataclass(frozen=True)
class DraftOptions:
    """What a caller may ask of one draft; None leaves the model's own setting."""

    num_candidates: int = 1
    num_beams: int | None = None
    max_new_tokens: int | None = None
    length_penalty: float | None = None
    mbr: bool | None = None

    def decoding(self) -> dict[str, Any]:
        """The decoding overrides the model is called with."""
        d = asdict(self)
        d.pop("num_candidates")
        return {k: v for k, v in d.items() if v is not None}


@dataclass(frozen=True)
class ModelCall:
    """A model call the drafting steps ask for: candidates for these reports."""

    reports: list[Report]
    options: DraftOptions


@dataclass(frozen=True)
class CheckCall:
    """A round of safety checks the drafting steps ask for: each report's candidates."""

    items: list[CheckItem]


# The drafting steps: yield the calls they need, are sent each answer, return the drafts.
Steps = Generator[ModelCall | CheckCall, Any, list[DraftResult]]


def advance(steps: Steps, answer: Any) -> ModelCall | CheckCall | list[DraftResult]:
    """Send the steps their last call's answer: the next call they ask for, or the drafts."""
    try:
        return steps.send(answer)
    except StopIteration as done:
        return done.value


def all_flagged(per_candidate: Sequence[Sequence[Any]]) -> bool:
    """Whether every candidate of a report carries a high-severity warning."""
    return all(blocking(ws) for ws in per_candidate)


def from_findings(findings: str) -> list[str]:
    """The findings' abnormal sentences as impressions: all of them first, then each alone."""
    sentences = findings_sentences(findings)
    return list(dict.fromkeys([" ".join(sentences), *sentences])) if sentences else []


def with_follow_up(report: Report, draft: str) -> str:
    """The draft with the guideline follow-up its findings call for (none already there).

    Read from the findings alone, as the `missing_follow_up` check reads them: a draft's
    words may be another patient's, and its copied "Small right upper lobe nodule, stable."
    had kept a CT's 9 mm nodule from its Fleischner follow-up. "No routine follow-up" is
    appended too where that is the table's answer: the guideline asks the report to say so
    (it is what spares the patient a needless CT), and a draft that said nothing kept a
    neighbour's "XXXX for better characterization" as the only advice for a low-risk 4 mm
    nodule.
    """
    recs = recommend(report.findings, None, report.exam, report.indication)
    return append_recommendations(draft, recs)


def exam_warning(familiarity: Familiarity | None, exam: str | None) -> DraftWarning | None:
    """An exam of a body region the model barely saw in training (radimpress.dataset.exams).

    High when the exam names none of the model's regions: the model can only write another
    region's impression (a chest model drafted "Fracture of the distal right clavicle" for a
    wrist), so every candidate carries it and safe selection falls back to the findings'
    own sentences. Medium when the exam names one of them too ("chest; right foot"): the
    draft covers the chest, and the radiologist's "2. Right foot. Negative." is theirs to add.
    """
    unseen = familiarity.unfamiliar(exam) if familiarity else frozenset()
    if not unseen or familiarity is None:
        return None
    only = not exam_regions(exam) & familiarity.familiar
    return DraftWarning(
        type="exam_outside_training",
        severity="high" if only else "medium",
        message=f"this exam ('{exam}') is of the {' and '.join(sorted(unseen))}, which the model "
        f"was not trained on (its training: {familiarity.describe()})"
        + (
            ": its drafts are another region's impressions"
            if only
            else ": the draft may leave out that part of the findings"
        ),
        candidate=0,
    )


class Drafter:
    """A model plus the cleaning, safety checks and choice that turn its output into drafts."""

    def __init__(
        self,
        model: ImpressionModel,
        *,
        cleaning: CleanOptions | None = None,
        safety_checks: bool = True,
        safe_select: bool = True,
        recommend: bool = False,
        fallback: bool = True,
        exams: Familiarity | None = None,
    ) -> None:
        self.model = model
        self.exams = exams  # the body regions the model was trained on, when its folder says
        self.cleaning = cleaning or CleanOptions()
        self.safety_checks = safety_checks
        self.safe_select = safe_select and safety_checks
        self.recommend = recommend
        # safe selection's last resort: the findings' own sentences (`to_fall_back`)
        self.fallback = fallback and self.safe_select

    @classmethod
    def from_model_dir(cls, model_dir: str | Path, backend: str = "auto", **kwargs: Any) -> Drafter:
        """Load a model folder (on a backend: auto, hf, ctranslate2); its manifest says how its
        training findings were cleaned and which body regions its exams were of."""
        manifest = read_manifest(model_dir)
        cleaning = CleanOptions.from_dict(manifest.get("cleaning"))
        exams = Familiarity(manifest["exam_regions"]) if manifest.get("exam_regions") else None
        return cls(load_model(model_dir, backend), cleaning=cleaning, exams=exams, **kwargs)

    @property
    def info(self) -> ModelInfo:
        i = self.model.info()
        return ModelInfo(name=i["name"], version=i["version"], kind=i["kind"])

    @property
    def runs_on(self) -> str:
        """Backend and device, for logs and summaries: "ctranslate2 on cpu", "hf on cuda:0"."""
        device = getattr(self.model, "device_name", "cpu")
        return f"{getattr(self.model, 'backend', 'python')} on {device}"

    # -- the steps --------------------------------------------------------

    def problems(self, options: DraftOptions) -> list[FieldProblem]:
        """Options this model cannot honour: an error, never silently ignored."""
        supported = self.model.decoding_options
        return [
            FieldProblem(name, f"{self.model.kind} models cannot honour {name}", "unsupported")
            for name in options.decoding()
            if name not in supported
        ]

    def validate(self, options: DraftOptions) -> None:
        problems = self.problems(options)
        if options.num_candidates < 1:
            problems.append(FieldProblem("num_candidates", "must be at least 1", "too_small"))
        if problems:
            raise InvalidRequest(problems)

    def prepare(self, reports: Sequence[Report]) -> list[Report]:
        """The reports as the model reads them: cleaned by the dataset's own function."""
        return [clean_report(r, self.cleaning) for r in reports]

    def pool_size(self, options: DraftOptions) -> int:
        return max(options.num_candidates, SAFE_POOL if self.safe_select else 1)

    def widens(self, options: DraftOptions) -> bool:
        """Whether safe selection drafts its alternatives only where the first drafts fail.

        A model that ranks the pool anyway (beams, retrieved lists) drafts it at once. A greedy
        or sampling language model would have to switch to a beam search of `SAFE_POOL` for
        every report (the fine-tuned Gemma's int8 copy, 297 Open-i reports with the checks:
        61 s against 42 s), and its first beam is not the greedy draft the recipe is configured
        and scored for. So it drafts as asked, and only the reports whose every candidate
        carries a high-severity warning are drafted again with the pool (`to_widen`, `pools`),
        their first drafts kept first.
        """
        pool = self.pool_size(options)
        return (
            self.safe_select
            and options.num_candidates < pool
            and self.model.candidate_pool(**options.decoding()) < pool
        )

    def asked(self, options: DraftOptions) -> DraftOptions:
        """The options of the first model call: the pool, unless the pool waits (`widens`)."""
        if self.widens(options):
            return options
        return replace(options, num_candidates=self.pool_size(options))

    def generate(self, reports: Sequence[Report], options: DraftOptions) -> list[list[str]]:
        """The model step: ``options.num_candidates`` per report, best first (runs in the
        server's model thread; `asked` says how many the first call takes).

        Sentences that report a communication of results ("Dr. XXXX was notified ...")
        are taken out of every candidate (`communication`): a draft cannot have made the
        call. With ``recommend``, the follow-up the guideline tables give for the findings
        (radimpress.safety.followup) is appended to each candidate here, before the
        checks, so a draft is checked as the reviewer will read it.
        """
        candidates = [
            clean_candidates(cands)
            for cands in self.model.generate(reports, options.num_candidates, **options.decoding())
        ]
        return [self.finish(r, cands) for r, cands in zip(reports, candidates, strict=True)]

    def finish(self, report: Report, texts: list[str]) -> list[str]:
        """A report's candidate texts as the reviewer will read them: with ``recommend``,
        each with the guideline follow-up its findings call for."""
        return [with_follow_up(report, t) for t in texts] if self.recommend else texts

    def assemble(
        self,
        reports: Sequence[Report],
        candidates: Sequence[Sequence[str]],
        checked: Checked,
        options: DraftOptions,
    ) -> list[DraftResult]:
        """Choose the first candidate and keep the warnings of those returned."""
        info = self.info
        results = []
        for k, (report, cands) in enumerate(zip(reports, candidates, strict=True)):
            cands = list(cands) or [""]
            if checked is None and self.safety_checks:
                per: list[list[DraftWarning]] = [[] for _ in cands]
                per[0] = [CHECK_FAILED]
            else:
                per = checked[k] if checked is not None else [[] for _ in cands]
            order = list(range(len(cands)))
            best = safest(per) if self.safe_select else 0
            if best > 0:
                order = [best] + [i for i in order if i != best]
            order = order[: options.num_candidates]
            warnings = [
                w.model_copy(update={"candidate": rank})
                for rank, i in enumerate(order)
                for w in per[i]
            ]
            results.append(
                DraftResult(
                    report_id=report.id,
                    findings=report.findings,
                    candidates=[cands[i] for i in order],
                    warnings=warnings,
                    model=info,
                )
            )
        return results

    def second_pool(self, options: DraftOptions) -> int:
        """Candidates the second model call asks for, for the reports whose first candidates
        all carry a high-severity warning; 0 when there is no second call.

        A greedy or sampling model drafts the safe pool then (`widens`). A model that ranks a
        list gives more of it (`ranked_depth`): for findings of free air the hybrid ranked
        three candidates that put it beside a normal sentence first, and the report's own
        sentence, unflagged, further down.
        """
        if not self.safe_select:
            return 0
        if self.widens(options):
            return self.pool_size(options)
        deep = self.model.ranked_depth(**options.decoding())
        return deep if deep > self.asked(options).num_candidates else 0

    def to_widen(self, options: DraftOptions, checked: Checked) -> list[int]:
        """Reports whose every first candidate carries a high-severity warning (`second_pool`)."""
        if checked is None or not self.second_pool(options):
            return []
        return [k for k, per in enumerate(checked) if all_flagged(per)]

    def to_fall_back(self, reports: Sequence[Report], checked: Checked) -> dict[int, list[str]]:
        """The findings' abnormal sentences (`from_findings`) of each report whose every
        candidate, widened pool included, carries a high-severity warning.

        The last resort of safe selection: the fine-tuned Gemma drafted "No acute
        radiographic cardiopulmonary process." for findings of free air, and every beam
        said the same. The findings' own sentences cannot carry another patient's finding
        or side; the draft says where it came from (`DRAFTED_FROM_FINDINGS`).
        """
        if checked is None or not self.fallback:
            return {}
        offers = {
            k: from_findings(reports[k].findings)
            for k, per in enumerate(checked)
            if all_flagged(per)
        }
        return {k: texts for k, texts in offers.items() if texts}

    def _check_items(
        self, reports: Sequence[Report], candidates: Sequence[Sequence[str]]
    ) -> list[CheckItem]:
        return [
            CheckItem(r.findings, c, r.study()) for r, c in zip(reports, candidates, strict=True)
        ]

    def steps(self, reports: Sequence[Report], options: DraftOptions) -> Steps:
        """Validate, clean, draft, check, widen where the drafts fail, choose.

        Each model call and each round of checks is yielded and its answer sent back, so the
        command line (`draft`) and the server (`draft_async`) run the same steps.
        """
        self.validate(options)
        prepared = self.prepare(reports)
        candidates = yield ModelCall(prepared, self.asked(options))
        checked = None
        if self.safety_checks:
            checked = yield CheckCall(self._check_items(prepared, candidates))
        notes = {k: w for k, r in enumerate(prepared) if (w := exam_warning(self.exams, r.exam))}
        if checked is not None:
            for k, note in notes.items():
                checked[k] = [[*ws, note] for ws in checked[k]]
        # more of the model's drafts are no better for another body region's report
        alien = {k for k, note in notes.items() if note.severity == "high"}
        rows = [k for k in self.to_widen(options, checked) if k not in alien]
        rechecked = True
        if rows:
            some = [prepared[k] for k in rows]
            more = yield ModelCall(some, replace(options, num_candidates=self.second_pool(options)))
            # each widened report's first candidates first, then the pool's others
            pools = [
                list(dict.fromkeys([*candidates[k], *extra]))
                for k, extra in zip(rows, more, strict=True)
            ]
            again = yield CheckCall(self._check_items(some, pools))
            # a failed re-check keeps the first drafts, whose warnings are known
            rechecked = again is not None
            if checked is not None and again is not None:
                for k, pool, per in zip(rows, pools, again, strict=True):
                    candidates[k], checked[k] = pool, per
        # a failed re-check leaves no checker to trust with the findings' sentences
        offers = self.to_fall_back(prepared, checked) if rechecked else {}
        if offers:
            rows = list(offers)
            texts = [self.finish(prepared[k], offers[k]) for k in rows]
            again = yield CheckCall(self._check_items([prepared[k] for k in rows], texts))
            if checked is not None and again is not None:
                for k, more, per in zip(rows, texts, again, strict=True):
                    if all_flagged(per):
                        continue  # the findings' sentences fail too: the model's order stands
                    said = [DRAFTED_FROM_FINDINGS]
                    if k in notes:  # why the model's drafts were set aside, said on this one too
                        said.append(notes[k].model_copy(update={"severity": "medium"}))
                    candidates[k] = [*candidates[k], *more]
                    checked[k] = [*checked[k], *([*ws, *said] for ws in per)]
        return self.assemble(prepared, candidates, checked, options)

    # -- the two ways of running them -------------------------------------

    def draft(
        self, reports: Sequence[Report], options: DraftOptions | None = None
    ) -> list[DraftResult]:
        """Draft in this process (command line, demo, benchmarks)."""
        steps = self.steps(reports, options or DraftOptions())
        step = advance(steps, None)
        while isinstance(step, ModelCall | CheckCall):
            if isinstance(step, ModelCall):
                step = advance(steps, self.generate(step.reports, step.options))
            else:
                step = advance(steps, check_items(step.items))
        return step

    async def draft_async(
        self,
        reports: Sequence[Report],
        options: DraftOptions,
        generate: Callable[[list[Report], DraftOptions], Awaitable[list[list[str]]]],
        check: Callable[[list[CheckItem]], Awaitable[Checked]],
    ) -> list[DraftResult]:
        """The same steps, with the model and the checks run by the server's executors."""
        steps = self.steps(reports, options)
        step = advance(steps, None)
        while isinstance(step, ModelCall | CheckCall):
            if isinstance(step, ModelCall):
                step = advance(steps, await generate(step.reports, step.options))
            else:
                step = advance(steps, await check(step.items))
        return step
