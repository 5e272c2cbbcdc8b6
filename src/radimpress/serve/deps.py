"""FastAPI dependencies shared by the routers: the drafting service, the settings.

Routers ask for these instead of reaching into ``request.app.state``, so a
test can swap any of them with ``app.dependency_overrides``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from radimpress.serve.service import DraftService
from radimpress.serve.settings import ServeSettings


def get_service(request: Request) -> DraftService:
    return request.app.state.service


def get_settings(request: Request) -> ServeSettings:
    return request.app.state.settings


Service = Annotated[DraftService, Depends(get_service)]
Settings = Annotated[ServeSettings, Depends(get_settings)]
