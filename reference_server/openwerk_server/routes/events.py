"""Events class: the caller's change feed (``GET /events``) and webhook subscriptions.

The feed is the source of truth; webhooks deliver the same events (``feed.FeedRenderer``
renders both). ``links.next`` is always present: it points after the last event read, so a
consumer that stores it resumes without losing or repeating events (OW-EVT-001); with
nothing new the page is empty and ``next`` stays where it was. A member sees and manages
only its own subscriptions and deliveries (OW-EVT-007); a subscription's secret is
write-only (OW-EVT-008).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from openwerk_server.feed import FeedRenderer, RenderedEvent, stored_types
from openwerk_server.pagination import page_links
from openwerk_server.privacy.consent import Consumer
from openwerk_server.routes.deps import (
    NEGOTIATION,
    RequestParams,
    SettingsDep,
    StoreDep,
    get_cursors,
    request_params,
)
from openwerk_server.routes.l3_deps import (
    EventsReader,
    checked_body,
    loopback_allowed,
    subscription_rules,
    trace_of,
)
from openwerk_server.routes.responses import created, json_response, page_response
from openwerk_server.storage import Store
from openwerk_server.storage.subscriptions import (
    DeliveryQuery,
    FeedQuery,
    SubscriptionInput,
    SubscriptionQuery,
)

__all__ = ["feed_page", "renderer", "router"]

router = APIRouter(dependencies=NEGOTIATION)

SubscriptionBody = Annotated[
    dict[str, Any],
    Depends(
        checked_body(
            "SubscriptionInput",
            rule_for=lambda request: subscription_rules(loopback_allowed(request)),
        )
    ),
]

#: Rows read per request at most, whatever the filters drop: a feed page always advances.
MAX_SCAN = 5_000


def _params(operation_id: str, listing: str | None = None) -> Any:
    return Depends(request_params(operation_id, listing=listing))


def renderer(request: Request) -> FeedRenderer:
    """The node's CloudEvents renderer (set by ``create_app``)."""
    found: FeedRenderer = request.app.state.feed
    return found


def feed_page(
    store: Store,
    render: FeedRenderer,
    consumer: Consumer,
    *,
    after_seq: int,
    limit: int,
    types: frozenset[str] | None,
) -> tuple[list[RenderedEvent], int]:
    """Up to ``limit`` events for ``consumer`` after ``after_seq`` and the position after
    the last one (or after everything read, when fewer were found)."""
    found: list[RenderedEvent] = []
    position, scanned = after_seq, 0
    sql_types = stored_types(types)
    while len(found) < limit and scanned < MAX_SCAN:
        batch = store.feed_rows(
            FeedQuery(member=consumer.client_id, after_seq=position, limit=limit, types=sql_types)
        )
        rendered = render.render(
            batch.rows, consumer, consents=batch.consents, now=store.now(), types=types
        )
        room = limit - len(found)
        if len(rendered) > room:
            found.extend(rendered[:room])
            return found, found[-1].seq
        found.extend(rendered)
        position, scanned = batch.last_seq, scanned + len(batch.rows)
        if batch.exhausted:
            break
    return found, position


@router.get("/events", operation_id="listEvents")
def list_events(
    request: Request,
    consumer: EventsReader,
    params: Annotated[RequestParams, _params("listEvents", "events")],
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """The caller's events, oldest first; ``links.next`` always present."""
    store.settle_introductions(trace=trace_of(request))
    wanted = params.values.get("types")
    types = frozenset(str(t) for t in wanted) if isinstance(wanted, list) else None
    after = int(params.after[0]) if params.after is not None else 0
    events, position = feed_page(
        store, renderer(request), consumer, after_seq=after, limit=params.limit, types=types
    )
    next_cursor = get_cursors(request).encode("events", (position,))
    return json_response(
        {
            "items": [item.event for item in events],
            "links": page_links(
                request, base_url=settings.base_url, limit=params.limit, next_cursor=next_cursor
            ),
        }
    )


# ---------------------------------------------------------------------------- subscriptions
@router.post("/subscriptions", operation_id="createSubscription", status_code=201)
def create_subscription(
    consumer: EventsReader, body: SubscriptionBody, settings: SettingsDep, store: StoreDep
) -> Response:
    """Subscribe a webhook to the caller's events of the given types."""
    stored = store.create_subscription(
        SubscriptionInput(
            member=consumer.client_id,
            member_type=consumer.organisation_type,
            url=body["url"],
            types=tuple(body["types"]),
            secret=body["secret"],
        )
    )
    return created(stored.as_document(), f"{settings.base_url}/subscriptions/{stored.id}")


@router.get("/subscriptions", operation_id="listSubscriptions")
def list_subscriptions(
    request: Request,
    consumer: EventsReader,
    params: Annotated[RequestParams, _params("listSubscriptions", "subscriptions")],
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """The caller's subscriptions, oldest first."""
    query = SubscriptionQuery(member=consumer.client_id, after=params.after, limit=params.limit)
    return page_response(
        request,
        store.list_subscriptions(query),
        lambda subscription: subscription.as_document(),
        listing="subscriptions",
        base_url=settings.base_url,
        limit=params.limit,
        cursors=get_cursors(request),
    )


@router.get("/subscriptions/{subscriptionId}", operation_id="getSubscription")
def get_subscription(
    consumer: EventsReader,
    params: Annotated[RequestParams, _params("getSubscription")],
    store: StoreDep,
) -> Response:
    """One of the caller's subscriptions (another member's is 404)."""
    subscription = store.get_subscription(
        params.text("subscriptionId") or "", member=consumer.client_id
    )
    return json_response(subscription.as_document())


@router.delete(
    "/subscriptions/{subscriptionId}", operation_id="deleteSubscription", status_code=204
)
def delete_subscription(
    consumer: EventsReader,
    params: Annotated[RequestParams, _params("deleteSubscription")],
    store: StoreDep,
) -> Response:
    """Stop deliveries; pending ones are dropped."""
    store.delete_subscription(params.text("subscriptionId") or "", member=consumer.client_id)
    return Response(status_code=204)


@router.get("/subscriptions/{subscriptionId}/deliveries", operation_id="listSubscriptionDeliveries")
def list_subscription_deliveries(
    request: Request,
    consumer: EventsReader,
    params: Annotated[RequestParams, _params("listSubscriptionDeliveries", "deliveries")],
    settings: SettingsDep,
    store: StoreDep,
) -> Response:
    """The subscription's deliveries, newest first, with attempts and status."""
    query = DeliveryQuery(
        subscription_id=params.text("subscriptionId") or "",
        member=consumer.client_id,
        after=params.after,
        limit=params.limit,
    )
    return page_response(
        request,
        store.list_deliveries(query),
        lambda delivery: delivery.as_document(),
        listing="deliveries",
        base_url=settings.base_url,
        limit=params.limit,
        cursors=get_cursors(request),
    )
