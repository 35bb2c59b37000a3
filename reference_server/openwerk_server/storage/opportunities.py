"""SQL for L0 open data: vacancies and task offers (one table) and instruments.

Functions here run inside a transaction the ``Store`` opened; they raise domain errors
(``NotFound``, ``Conflict``, ``IllegalTransition``) and never commit on their own.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Row,
    Text,
    and_,
    bindparam,
    delete,
    exists,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import cast as cast_
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import ColumnElement

from openwerk_server.errors import Conflict, IllegalTransition, InvalidInput, InvalidParam
from openwerk_server.storage.prepared import Prepared
from openwerk_server.storage.queries import (
    InstrumentInput,
    InstrumentQuery,
    Key,
    OpportunityInput,
    OpportunityQuery,
    Page,
    Resource,
    skill_key,
)
from openwerk_server.storage.records import (
    StoredInstrument,
    StoredOpportunity,
)
from openwerk_server.storage.rendered import ListedOpportunity
from openwerk_server.storage.rows import one_row
from openwerk_server.storage.tables import (
    instrument_gemeenten,
    instruments,
    opportunities,
    opportunity_instruments,
    opportunity_skills,
)

_LABELS: Mapping[str, str] = {"vacancy": "vacancy", "task-offer": "task offer"}


# ---------------------------------------------------------------------------- keyset
# L0 lists are newest first: createdAt descending, ties broken by id (OW-PAGE-004). The
# position after an item is its (createdAt, id); "after" means strictly older in that order,
# which stays put when items are written meanwhile (OW-PAGE-005).
def _key(created_at: datetime, item_id: str) -> Key:
    return (created_at.isoformat(), item_id)


def _after_values(key: Key) -> tuple[datetime, str]:
    """The (createdAt, id) of a cursor's key; 400 ``cursor`` for one that is not."""
    try:
        return datetime.fromisoformat(str(key[0])), str(key[1])
    except (IndexError, ValueError) as exc:
        raise InvalidInput(
            [InvalidParam("cursor", "This cursor is no longer valid.", "cursor")]
        ) from exc


def _after(
    created_column: ColumnElement[datetime], id_column: ColumnElement[str], key: Key
) -> ColumnElement[bool]:
    created, last_id = _after_values(key)
    return or_(created_column < created, and_(created_column == created, id_column < last_id))


# ---------------------------------------------------------------------------- opportunities
def _opportunity(row: Row[Any]) -> StoredOpportunity:
    m = row._mapping
    return StoredOpportunity(
        resource=cast(Resource, m["resource"]),
        id=m["id"],
        publisher=m["publisher"],
        status=m["status"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        closed_at=m["closed_at"],
        content=m["document"],
    )


def _index_values(item: OpportunityInput) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "isco08": item.isco08,
        "esco_uri": item.esco_uri,
        "gemeente": item.gemeente,
        "arbeidsmarktregio": item.arbeidsmarktregio,
        "hours_min": item.hours_min,
        "hours_max": item.hours_max,
        "document": dict(item.content),
    }


def _write_children(conn: Connection, opportunity_id: str, item: OpportunityInput) -> None:
    conn.execute(
        delete(opportunity_skills).where(opportunity_skills.c.opportunity_id == opportunity_id)
    )
    conn.execute(
        delete(opportunity_instruments).where(
            opportunity_instruments.c.opportunity_id == opportunity_id
        )
    )
    if item.skill_keys:
        conn.execute(
            insert(opportunity_skills),
            [
                {"opportunity_id": opportunity_id, "skill_key": key}
                for key in sorted(item.skill_keys)
            ],
        )
    if item.instrument_types:
        conn.execute(
            insert(opportunity_instruments),
            [
                {"opportunity_id": opportunity_id, "instrument_type": code}
                for code in sorted(item.instrument_types)
            ],
        )


def insert_opportunity(
    conn: Connection, item: OpportunityInput, *, new_id: str, publisher: str, now: datetime
) -> StoredOpportunity:
    """Store a new, open opportunity and its skill and instrument index rows."""
    conn.execute(
        insert(opportunities).values(
            id=new_id,
            resource=item.resource,
            publisher=publisher,
            status="open",
            created_at=now,
            updated_at=now,
            **_index_values(item),
        )
    )
    _write_children(conn, new_id, item)
    return fetch_opportunity(conn, item.resource, new_id)


def fetch_opportunity(
    conn: Connection, resource: Resource, opportunity_id: str, *, for_update: bool = False
) -> StoredOpportunity:
    """One vacancy or task offer; ``NotFound`` if there is none of this resource type."""
    stmt = select(opportunities).where(
        opportunities.c.id == opportunity_id, opportunities.c.resource == resource
    )
    missing = f"No {_LABELS[resource]} {opportunity_id!r} at this node."
    return _opportunity(one_row(conn, stmt, missing=missing, for_update=for_update))


def replace_opportunity(
    conn: Connection, opportunity_id: str, item: OpportunityInput, *, now: datetime
) -> StoredOpportunity:
    """Replace the content of an open opportunity; id, publisher and status stay."""
    current = fetch_opportunity(conn, item.resource, opportunity_id, for_update=True)
    if current.status != "open":
        raise Conflict(
            f"The {_LABELS[item.resource]} {opportunity_id!r} is closed and cannot change."
        )
    conn.execute(
        update(opportunities)
        .where(opportunities.c.id == opportunity_id)
        .values(updated_at=now, **_index_values(item))
    )
    _write_children(conn, opportunity_id, item)
    return fetch_opportunity(conn, item.resource, opportunity_id)


def close_opportunity(
    conn: Connection, resource: Resource, opportunity_id: str, *, now: datetime
) -> StoredOpportunity:
    """open → closed; closing a closed opportunity is an illegal transition."""
    current = fetch_opportunity(conn, resource, opportunity_id, for_update=True)
    if current.status != "open":
        raise IllegalTransition(f"The {_LABELS[resource]} {opportunity_id!r} is already closed.")
    conn.execute(
        update(opportunities)
        .where(opportunities.c.id == opportunity_id)
        .values(status="closed", closed_at=now, updated_at=now)
    )
    return fetch_opportunity(conn, resource, opportunity_id)


def _filter_values(query: OpportunityQuery) -> dict[str, Any]:
    """The values of the filters ``query`` sets, by bind name (``_opportunity_filters``)."""
    values: dict[str, Any] = {"resource": query.resource, "status": query.status}
    optional: dict[str, Any] = {
        "esco_uri": query.esco_uri,
        # Digits by the spec's pattern; escaped anyway, as ``startswith(autoescape=True)`` did.
        "isco08_prefix": None
        if query.isco08_prefix is None
        else _escape_like(query.isco08_prefix) + "%",
        "skill": None if query.skill is None else skill_key(query.skill),
        "gemeente": query.gemeente,
        "arbeidsmarktregio": query.arbeidsmarktregio,
        "kind": query.kind,
        "hours_min": query.hours_min,
        "hours_max": query.hours_max,
        "instrument": query.instrument,
        "updated_since": query.updated_since,
    }
    values.update((name, value) for name, value in optional.items() if value is not None)
    if query.after is not None:
        values["after_created"], values["after_id"] = _after_values(query.after)
    return values


def _escape_like(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _opportunity_filters(names: frozenset[str]) -> list[ColumnElement[bool]]:
    """The conditions for the filters named (``_filter_values``' keys), as named binds."""
    o = opportunities.c
    where: list[ColumnElement[bool]] = [
        o.resource == bindparam("resource"),
        o.status == bindparam("status"),
    ]
    equal = {
        "esco_uri": o.esco_uri,
        "gemeente": o.gemeente,
        "arbeidsmarktregio": o.arbeidsmarktregio,
        "kind": o.kind,
    }
    where.extend(column == bindparam(name) for name, column in equal.items() if name in names)
    if "isco08_prefix" in names:
        where.append(o.isco08.like(bindparam("isco08_prefix"), escape="/"))
    if "skill" in names:
        s = opportunity_skills.c
        where.append(exists().where(s.opportunity_id == o.id, s.skill_key == bindparam("skill")))
    # Range overlap: [hours_min, hours_max] meets the wanted range.
    if "hours_min" in names:
        where.append(o.hours_max >= bindparam("hours_min"))
    if "hours_max" in names:
        where.append(o.hours_min <= bindparam("hours_max"))
    if "instrument" in names:
        i = opportunity_instruments.c
        where.append(
            exists().where(i.opportunity_id == o.id, i.instrument_type == bindparam("instrument"))
        )
    if "updated_since" in names:
        where.append(o.updated_at >= bindparam("updated_since"))
    if "after_created" in names:
        created = bindparam("after_created", type_=o.created_at.type)
        where.append(
            or_(
                o.created_at < created,
                and_(o.created_at == created, o.id < bindparam("after_id")),
            )
        )
    return where


@functools.lru_cache(maxsize=512)
def _page_statement(dialect: Dialect, names: frozenset[str]) -> Prepared:
    """The page query for one combination of filters, compiled once for ``dialect``."""
    o = opportunities.c
    statement = (
        select(
            o.resource,
            o.id,
            o.publisher,
            o.status,
            o.created_at,
            o.updated_at,
            o.closed_at,
            cast_(o.document, Text).label("content_json"),
        )
        .where(*_opportunity_filters(names))
        .order_by(o.created_at.desc(), o.id.desc())
        .limit(bindparam("page_rows", type_=Integer()))
    )
    return Prepared(statement, dialect)


def select_opportunity_rows(engine: Engine, query: OpportunityQuery) -> Page[ListedOpportunity]:
    """A page, newest first (``createdAt`` descending, ties by ``id`` descending), with each
    row as the driver returned it, its document still JSON text.

    The hottest read of a node, so it runs prepared (``storage.prepared``), and the list
    routes render rows through ``ListedOpportunity.rendered``, which keeps each row's
    rendering: a row seen before is neither converted nor decoded.
    """
    values = _filter_values(query)
    prepared = _page_statement(engine.dialect, frozenset(values))
    rows = prepared.fetch(engine, {**values, "page_rows": query.limit + 1})
    items = tuple(ListedOpportunity(row, prepared) for row in rows[: query.limit])
    if len(rows) <= query.limit or not items:
        return Page(items, None)
    last = items[-1].fields()
    return Page(items, _key(last.created_at, last.id))


# ---------------------------------------------------------------------------- instruments
def _instrument(row: Row[Any]) -> StoredInstrument:
    m = row._mapping
    return StoredInstrument(
        id=m["id"],
        publisher=m["publisher"],
        status=m["status"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        closed_at=m["closed_at"],
        content=m["document"],
    )


def _write_instrument_gemeenten(
    conn: Connection, instrument_id: str, item: InstrumentInput
) -> None:
    conn.execute(
        delete(instrument_gemeenten).where(instrument_gemeenten.c.instrument_id == instrument_id)
    )
    conn.execute(
        insert(instrument_gemeenten),
        [{"instrument_id": instrument_id, "gemeente": code} for code in sorted(item.gemeenten)],
    )


def insert_instrument(
    conn: Connection, item: InstrumentInput, *, new_id: str, publisher: str, now: datetime
) -> StoredInstrument:
    """Store a new, active instrument."""
    conn.execute(
        insert(instruments).values(
            id=new_id,
            publisher=publisher,
            type=item.type,
            status="active",
            created_at=now,
            updated_at=now,
            document=dict(item.content),
        )
    )
    _write_instrument_gemeenten(conn, new_id, item)
    return fetch_instrument(conn, new_id)


def fetch_instrument(
    conn: Connection, instrument_id: str, *, for_update: bool = False
) -> StoredInstrument:
    """One instrument; ``NotFound`` if there is none."""
    stmt = select(instruments).where(instruments.c.id == instrument_id)
    missing = f"No instrument {instrument_id!r} at this node."
    return _instrument(one_row(conn, stmt, missing=missing, for_update=for_update))


def replace_instrument(
    conn: Connection, instrument_id: str, item: InstrumentInput, *, now: datetime
) -> StoredInstrument:
    """Replace the content of an active instrument."""
    current = fetch_instrument(conn, instrument_id, for_update=True)
    if current.status != "active":
        raise Conflict(f"The instrument {instrument_id!r} is closed and cannot change.")
    conn.execute(
        update(instruments)
        .where(instruments.c.id == instrument_id)
        .values(type=item.type, updated_at=now, document=dict(item.content))
    )
    _write_instrument_gemeenten(conn, instrument_id, item)
    return fetch_instrument(conn, instrument_id)


def close_instrument(conn: Connection, instrument_id: str, *, now: datetime) -> StoredInstrument:
    """active → closed."""
    current = fetch_instrument(conn, instrument_id, for_update=True)
    if current.status != "active":
        raise IllegalTransition(f"The instrument {instrument_id!r} is already closed.")
    conn.execute(
        update(instruments)
        .where(instruments.c.id == instrument_id)
        .values(status="closed", closed_at=now, updated_at=now)
    )
    return fetch_instrument(conn, instrument_id)


def select_instruments(conn: Connection, query: InstrumentQuery) -> Page[StoredInstrument]:
    """A page of instruments, newest first."""
    c = instruments.c
    where: list[ColumnElement[bool]] = [c.status == query.status]
    if query.type is not None:
        where.append(c.type == query.type)
    if query.gemeente is not None:
        g = instrument_gemeenten.c
        where.append(exists().where(g.instrument_id == c.id, g.gemeente == query.gemeente))
    if query.updated_since is not None:
        where.append(c.updated_at >= query.updated_since)
    if query.after is not None:
        where.append(_after(c.created_at, c.id, query.after))
    stmt = (
        select(instruments)
        .where(*where)
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(query.limit + 1)
    )
    rows = conn.execute(stmt).all()
    items = tuple(_instrument(row) for row in rows[: query.limit])
    more = len(rows) > query.limit
    return Page(items, _key(items[-1].created_at, items[-1].id) if more and items else None)
