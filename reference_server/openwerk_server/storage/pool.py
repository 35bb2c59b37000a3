"""SQL behind the L2 views: the pool generation and the pool as the privacy layer sees it.

The generation is one row in ``pool_state``. Every function in ``candidates.py`` that writes
a candidate or a consent calls ``bump_generation`` inside the store's transaction, so the
number changes exactly when a committed write could change some consumer's view, and a
rolled-back write leaves it alone. ``load_pool`` reads the non-identifying profile and the
consents; it never selects the ``person`` column.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import Connection, insert, select, update

from openwerk_server.privacy.consent import ConsentRecord
from openwerk_server.privacy.views import PoolCandidate
from openwerk_server.storage.tables import candidates, consents, pool_state

__all__ = ["bump_generation", "load_pool", "read_generation"]

_ROW = 1


def bump_generation(conn: Connection) -> None:
    """Advance the pool generation (in the caller's transaction)."""
    result = conn.execute(
        update(pool_state)
        .where(pool_state.c.id == _ROW)
        .values(generation=pool_state.c.generation + 1)
    )
    if result.rowcount == 0:  # a schema made from tables.py rather than the migrations
        conn.execute(insert(pool_state).values(id=_ROW, generation=1))


def read_generation(conn: Connection) -> int:
    """The current pool generation (0 before the first candidate write)."""
    value = conn.execute(
        select(pool_state.c.generation).where(pool_state.c.id == _ROW)
    ).scalar_one_or_none()
    return int(value) if value is not None else 0


def load_pool(conn: Connection) -> list[PoolCandidate]:
    """Every candidate that holds a consent in state ``given``, with those consents.

    Withdrawn consents never count again, so they are not loaded; expiry is decided by the
    view from the date. Candidates without a given consent cannot be in any view or count.
    """
    c = consents.c
    by_candidate: dict[str, list[ConsentRecord]] = defaultdict(list)
    rows = conn.execute(
        select(
            c.candidate_id,
            c.purposes,
            c.recipients,
            c.status,
            c.given_at,
            c.valid_until,
            c.last_confirmed_at,
        )
        .where(c.status == "given")
        .order_by(c.candidate_id, c.created_seq)
    )
    for row in rows:
        m = row._mapping
        valid_until = m["valid_until"]
        assert isinstance(valid_until, date)
        by_candidate[m["candidate_id"]].append(
            ConsentRecord(
                purposes=frozenset(m["purposes"]),
                recipients=dict(m["recipients"]),
                status=m["status"],
                given_at=m["given_at"],
                valid_until=valid_until,
                last_confirmed_at=m["last_confirmed_at"],
            )
        )
    if not by_candidate:
        return []
    k = candidates.c
    pool: list[PoolCandidate] = []
    # Only the columns the view needs: the identified ``person`` document stays in the table.
    stmt = select(k.id, k.gemeente, k.arbeidsmarktregio, k.birth_date, k.profile).order_by(k.id)
    for candidate_row in conn.execute(stmt):
        m = candidate_row._mapping
        held = by_candidate.get(m["id"])
        if held is None:
            continue
        pool.append(
            PoolCandidate(
                internal_id=m["id"],
                gemeente=m["gemeente"],
                arbeidsmarktregio=m["arbeidsmarktregio"],
                birth_date=m["birth_date"],
                profile=dict(m["profile"]),
                consents=tuple(held),
            )
        )
    return pool
