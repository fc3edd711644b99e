"""The API's routes added to the app's own router, flat, instead of as nested included routers.

FastAPI 0.165 keeps an included router as a lazy branch: on every request it re-walks the router tree's
version counters and matches each branch twice (once to pick it, once inside it), which was about a fifth
of a read's CPU. The API's routers are complete at start-up, so their routes are copied onto the app's
router once, with the same path, tags, dependencies, responses, route class and OpenAPI data an
``include_router`` gives them (as FastAPI itself copied routes before it made inclusion lazy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter
from fastapi.params import Depends
from fastapi.routing import APIRoute


def include_flat(
    target: APIRouter,
    router: APIRouter,
    *,
    prefix: str = "",
    responses: dict[int | str, dict[str, Any]] | None = None,
    dependencies: Sequence[Depends] = (),
) -> None:
    """Add each of ``router``'s routes (its own prefix, tags and dependencies already applied) to
    ``target`` under ``prefix``; TypeError for anything but plain API routes (include those instead)."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"include_flat: {route!r} in {router.prefix or '/'} is not an API route")
        target.add_api_route(
            prefix + route.path,
            route.endpoint,
            response_model=route.response_model,
            status_code=route.status_code,
            tags=list(route.tags),
            dependencies=[*dependencies, *route.dependencies],
            summary=route.summary,
            description=route.description,
            response_description=route.response_description,
            responses={**(responses or {}), **route.responses},
            deprecated=route.deprecated,
            methods=route.methods,
            operation_id=route.operation_id,
            response_model_include=route.response_model_include,
            response_model_exclude=route.response_model_exclude,
            response_model_by_alias=route.response_model_by_alias,
            response_model_exclude_unset=route.response_model_exclude_unset,
            response_model_exclude_defaults=route.response_model_exclude_defaults,
            response_model_exclude_none=route.response_model_exclude_none,
            include_in_schema=route.include_in_schema,
            response_class=route.response_class,
            name=route.name,
            route_class_override=type(route),
            callbacks=route.callbacks,
            openapi_extra=route.openapi_extra,
            generate_unique_id_function=route.generate_unique_id_function,
            strict_content_type=route.strict_content_type,
            max_body_size=route.max_body_size,
            form_limits=route.form_limits,
        )
