"""JSON API: Markdown preview, rendered by the server through the same sanitiser as posts."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.api.deps import rate_limit
from app.core.inputs import JsonBody
from app.core.markdown import render_markdown

router = APIRouter()

PREVIEW_MAX = 30_000  # characters: the longest body a post may have (app/questions/schemas.py)


class PreviewIn(JsonBody):
    text: str = Field(max_length=PREVIEW_MAX, description="Markdown as it would be posted")


class PreviewOut(BaseModel):
    html: str = Field(description="what the post would show: rendered and sanitised exactly as `body_html`")


@router.post("/markdown/preview", response_model=PreviewOut, tags=["questions"],
             dependencies=[rate_limit("preview")], summary="Preview Markdown as a post would show it")
def preview(data: PreviewIn) -> PreviewOut:
    """Renders `text` as a question, answer or comment body would be (no script, no event handlers,
    no `javascript:` links). Nothing is stored. Anyone may call it, within the "preview" rate limit."""
    return PreviewOut(html=render_markdown(data.text))
