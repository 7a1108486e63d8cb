"""Market search: labels (with their descendants), all/any, price range, sort, facets, total."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from labelhub_app.adapters.search.base import SortKey
from labelhub_app.api.deps import OptionalUser, SessionDep
from labelhub_app.api.pagination import MAX_LIMIT, fingerprint, paged
from labelhub_app.api.schemas import FacetPublic, MarketImagePublic, SearchPublic
from labelhub_app.services import search
from labelhub_app.services.labels import split_labels

router = APIRouter(tags=["market"])

Cents = Annotated[int | None, Query(ge=0, le=2**53)]


@router.get("/search", response_model=SearchPublic)
def search_market(
    session: SessionDep,
    viewer: OptionalUser,
    labels: Annotated[
        str, Query(max_length=2000, description="Comma-separated label names, e.g. dog,cat")
    ] = "",
    mode: Literal["all", "any"] = "all",
    min_price: Cents = None,
    max_price: Cents = None,
    sort: SortKey = "newest",
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 24,
) -> SearchPublic:
    """Images on sale matching the labels (each with the labels below it) and price range.

    ``total`` and ``facets`` cover all matches. Anyone may search; signed in, ``owned`` marks
    images you bought.
    """
    names = tuple(split_labels(labels))
    pages: list[search.MarketPage] = []  # the one page fetched, for its facets

    def fetch(page: int, per_page: int) -> tuple[list[search.MarketCard], int]:
        result = search.search_market(
            session,
            query=search.MarketQuery(
                labels=names,
                mode=mode,
                min_price=min_price,
                max_price=max_price,
                sort=sort,
                page=page,
                per_page=per_page,
            ),
            viewer_id=viewer.id if viewer else None,
        )
        pages.append(result)
        return result.items, result.total

    cards, total, next_cursor = paged(
        fetch,
        cursor=cursor,
        limit=limit,
        list_id=fingerprint(
            "search", labels=names, mode=mode, lo=min_price, hi=max_price, sort=sort
        ),
        max_window=search.MAX_RESULT_WINDOW,
    )
    return SearchPublic(
        items=[
            MarketImagePublic(
                id=c.public_id,
                file_name=c.file_name,
                price_cents=c.price_cents,
                licence=c.licence,
                labels=c.labels,
                producer=c.producer_pseudonym,
                width=c.width,
                height=c.height,
                sales_count=c.sales_count,
                owned=c.owned,
                created_at=c.created_at,
            )
            for c in cards
        ],
        total=total,
        facets=[FacetPublic(label=f.label, count=f.count) for f in pages[-1].facets],
        unknown_labels=pages[-1].unknown_labels,
        next_cursor=next_cursor,
    )
