"""Review pages: log in, worklist, one report with its drafts, accept / edit / reject.

Plain HTML forms that work without JavaScript; htmx (vendored) boosts them
into in-page requests and saves edits as the reviewer types, and a few lines
of review.js add keyboard shortcuts.
"""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from radimpress.drafting.checks import safety_available
from radimpress.safety import recommend
from radimpress.serve.auth import COOKIE, reviewer_for, token_from_request
from radimpress.serve.store import STATUSES, AlreadyDecided

router = APIRouter(include_in_schema=False)


def page_reviewer(request: Request) -> str:
    """Like require_reviewer, but a browser without a valid token is sent to /login."""
    settings = request.app.state.settings
    if settings.insecure_local:
        return settings.local_reviewer
    name = reviewer_for(token_from_request(request), settings.tokens)
    if name is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            status_code=303,
            headers={"Location": f"/login?next={quote(target)}"},
            detail="log in first",
        )
    return name


Reviewer = Annotated[str, Depends(page_reviewer)]
# Query parameters are bounded: a page number past SQLite's integers, or a megabyte
# of "next" URL, is a 422, not a 500 or a slow page.
MAX_PAGE = 1_000_000
DraftId = Annotated[str | None, Query(max_length=64)]
Message = Annotated[str | None, Query(max_length=500)]


def render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    context.setdefault("reviewer", None)
    context["insecure_local"] = request.app.state.settings.insecure_local
    return request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status_code
    )


def _safe_next(target: str | None) -> str:
    return (
        target if target and target.startswith("/") and not target.startswith("//") else "/review"
    )


@router.get("/login", response_class=HTMLResponse)
async def login_form(
    request: Request,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    error: Message = None,
):
    return render(request, "login.html", next=_safe_next(next), error=error)


@router.post("/login")
async def login(
    request: Request, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/review"
):
    settings = request.app.state.settings
    if reviewer_for(token.strip(), settings.tokens) is None and not settings.insecure_local:
        return render(
            request,
            "login.html",
            status_code=401,
            next=_safe_next(next),
            error="That token is not valid.",
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        token.strip(),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=12 * 3600,
    )
    return response


@router.post("/logout")
async def logout():
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/")
async def root(reviewer: Reviewer):
    return RedirectResponse("/review", status_code=303)


@router.get("/review", response_class=HTMLResponse)
async def worklist(
    request: Request,
    reviewer: Reviewer,
    status: Annotated[str, Query(max_length=20)] = "draft",
    origin: Annotated[str, Query(max_length=20)] = "api",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    done: DraftId = None,
):
    store = request.app.state.store
    status = status if status in (*STATUSES, "all") else "draft"
    origin = origin if origin in ("api", "evaluation", "all") else "api"
    size = request.app.state.settings.page_size
    drafts, total, counts = await asyncio.to_thread(
        lambda: (
            store.list_drafts(
                status=None if status == "all" else status,
                origin=None if origin == "all" else origin,
                limit=size,
                offset=(page - 1) * size,
            ),
            store.count_drafts(
                status=None if status == "all" else status,
                origin=None if origin == "all" else origin,
            ),
            {
                s: store.count_drafts(status=s, origin=None if origin == "all" else origin)
                for s in STATUSES
            },
        )
    )
    done_draft = await asyncio.to_thread(store.get_draft, done) if done else None
    return render(
        request,
        "worklist.html",
        reviewer=reviewer,
        drafts=drafts,
        total=total,
        counts=counts,
        status=status,
        origin=origin,
        page=page,
        pages=max(1, -(-total // size)),
        done=done_draft,
    )


@router.get("/review/{draft_id}", response_class=HTMLResponse)
async def report_page(
    request: Request,
    draft_id: str,
    reviewer: Reviewer,
    done: DraftId = None,
    error: Message = None,
):
    store = request.app.state.store
    draft = await asyncio.to_thread(store.get_draft, draft_id)
    if draft is None:
        return render(request, "not_found.html", status_code=404, reviewer=reviewer, what=draft_id)
    if draft.status == "draft":
        await asyncio.to_thread(store.mark_opened, draft_id)
    next_id = await asyncio.to_thread(store.next_draft_id, draft)
    done_draft = await asyncio.to_thread(store.get_draft, done) if done else None
    return render(
        request,
        "report.html",
        reviewer=reviewer,
        d=draft,
        next_id=next_id,
        done=done_draft,
        error=error,
        follow_up=follow_up_sentences(draft),
        safety=(
            "off"
            if not request.app.state.settings.safety_checks
            else "on"
            if safety_available()
            else "missing"
        ),
    )


def follow_up_sentences(draft) -> list[str]:
    """Guideline follow-up the findings call for and the draft does not say yet (shown to append;
    "No routine follow-up." too, as `with_follow_up` appends it).

    Read from the findings alone, as the drafting path and `missing_follow_up` read them: the
    draft under review may be another patient's words (its copied "stable" would hide it).
    """
    text = draft.text_for_review
    recs = recommend(draft.findings, None, draft.exam, draft.indication)
    return [r.sentence for r in recs if r.sentence and r.sentence not in text]


@router.post("/review/{draft_id}/text", response_class=HTMLResponse)
async def save_text(
    request: Request, draft_id: str, reviewer: Reviewer, text: Annotated[str, Form()] = ""
):
    """Autosave: called by htmx while the reviewer types."""
    settings = request.app.state.settings
    if len(text) > settings.max_findings_chars:
        return HTMLResponse(
            '<span class="save-state error">Too long; not saved.</span>', status_code=422
        )
    state = await asyncio.to_thread(request.app.state.store.save_edit, draft_id, text)
    if state == "missing":
        return HTMLResponse(
            '<span class="save-state error">Draft not found.</span>', status_code=404
        )
    if state == "decided":
        return HTMLResponse(
            '<span class="save-state error">Already decided; reopen it to edit.</span>',
            status_code=409,
        )
    return HTMLResponse('<span class="save-state ok">Saved</span>')


@router.post("/review/{draft_id}/decision")
async def decide(
    request: Request,
    draft_id: str,
    reviewer: Reviewer,
    decision: Annotated[str, Form()],
    text: Annotated[str | None, Form()] = None,
):
    store = request.app.state.store
    if decision not in ("accept", "reject", "reopen"):
        raise HTTPException(status_code=422, detail=f"unknown decision '{decision}'")
    try:
        draft = await asyncio.to_thread(store.decide, draft_id, decision, reviewer, text)
    except KeyError:
        raise HTTPException(status_code=404, detail="draft not found") from None
    except (AlreadyDecided, ValueError) as e:
        # Back to the page with the reason shown, for browsers with and without htmx.
        return RedirectResponse(f"/review/{draft_id}?error={quote(str(e))}", status_code=303)
    if decision == "reopen":
        return RedirectResponse(f"/review/{draft.id}", status_code=303)
    next_id = await asyncio.to_thread(store.next_draft_id, draft)
    target = (
        f"/review/{next_id}?done={draft.id}"
        if next_id
        else f"/review?done={draft.id}&origin={draft.origin}"
    )
    return RedirectResponse(target, status_code=303)
