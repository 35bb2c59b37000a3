"""The gateway's fan-out: ``openwerk.FederatedClient`` under the gateway's own identity.

A gateway holds no data (OW-FED-008). Every federated answer is assembled from what the
providers in the verified directory answered within one deadline, and forgotten when the
response is sent. The SDK's ``FederatedClient`` does the fan-out, the deadline, the per-node
statuses and the merge; this module adds what is the gateway's own business:

- the identity: client id = ``node_id``, key = ``node_key_path`` (the gateway's directory
  entry has the ``gateway`` role, so providers give it L0 and L2 under ``any-member``
  consents only, OW-FED-014);
- asking only providers that declare the operation's class (``only_declared``, OW-FED-004);
- cursors: the SDK's federated cursor names provider page URLs, so the gateway signs it
  (the node's ``CursorCodec``) before handing it out and refuses any it did not sign. A
  caller can neither point the gateway at a URL of its choosing nor forge positions;
- the JSON: items as the providers sent them, plus ``partial`` and ``nodes`` (FederationFields).

The ``FederatedClient`` is created on first use, inside the server's event loop, and closed
when the app shuts down; its token cache per provider lives as long as the app.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

from openwerk import FederatedClient, FederatedPage, NodeStatus, OpenWerkModel
from openwerk.directory import Directory, DirectoryCache, DirectoryError
from openwerk.keys import KeyFileError, load_private_key
from openwerk_server.errors import InvalidInput, InvalidParam, ServiceUnavailable
from openwerk_server.pagination import CursorCodec
from openwerk_server.settings import NodeSettings

__all__ = ["Gateway", "federation_fields", "item_document", "node_status_document"]

T = TypeVar("T")

#: The gateway's walks (the list its signed cursors name) and the SDK method of each.
_METHODS = {
    "vacancies": "vacancies",
    "task-offers": "task_offers",
    "instruments": "instruments",
    "candidates": "search_candidates",
}


def node_status_document(status: NodeStatus) -> dict[str, Any]:
    """One ``NodeStatus`` as the spec's JSON (absent members left out, never ``null``)."""
    return status.model_dump(mode="json", by_alias=True, exclude_none=True)


def item_document(item: OpenWerkModel) -> dict[str, Any]:
    """An item as the provider sent it."""
    return item.to_json_dict()


class Gateway:
    """Fan-out for one gateway app (see the module docstring)."""

    def __init__(
        self,
        settings: NodeSettings,
        directory: DirectoryCache | None,
        cursors: CursorCodec,
    ) -> None:
        self.settings = settings
        self.directory_cache = directory
        self.cursors = cursors
        self.deadline = settings.gateway_deadline_seconds
        self._client: FederatedClient | None = None
        self._lock = asyncio.Lock()

    # -------------------------------------------------------------- lifecycle

    async def client(self) -> FederatedClient:
        """The federated client, built on first use (in the serving event loop)."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = self._build()
            return self._client

    def _build(self) -> FederatedClient:
        if self.directory_cache is None or self.settings.node_key_path is None:
            raise ServiceUnavailable(
                "This gateway has no federation directory and key configured, so it has no "
                "providers to ask (set directory_path, operator_key_path and node_key_path)."
            )
        try:
            key = load_private_key(self.settings.node_key_path)
        except KeyFileError as exc:
            raise ServiceUnavailable(f"The gateway's signing key is unusable: {exc}") from exc
        return FederatedClient(
            self.directory_cache,
            client_id=self.settings.node_id,
            private_key=key,
            deadline=self.deadline,
            only_declared=True,
        )

    async def aclose(self) -> None:
        """Close the providers' connection pools."""
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # -------------------------------------------------------------- directory

    async def directory(self) -> Directory:
        """The verified directory in use; 503 when there is none (expired, unreadable)."""
        if self.directory_cache is None:
            raise ServiceUnavailable("This gateway has no federation directory configured.")
        try:
            return await asyncio.to_thread(self.directory_cache.get)
        except DirectoryError as exc:
            raise ServiceUnavailable(
                f"This gateway holds no valid federation directory: {exc}"
            ) from exc

    # -------------------------------------------------------------- cursors

    def sign_cursor(self, walk: str, federated_cursor: str | None) -> str | None:
        """The cursor the gateway hands out for the SDK's federated cursor."""
        if federated_cursor is None:
            return None
        return self.cursors.encode(f"gateway:{walk}", (federated_cursor,))

    def open_cursor(self, walk: str, cursor: str) -> str:
        """The federated cursor inside a cursor this gateway signed (400 ``cursor`` if not)."""
        key = self.cursors.decode(f"gateway:{walk}", cursor)
        if len(key) != 1 or not isinstance(key[0], str):  # pragma: no cover - never issued
            raise InvalidInput([InvalidParam("cursor", "Not a cursor of this gateway.", "cursor")])
        return key[0]

    # -------------------------------------------------------------- calls

    async def run(self, call: Callable[[FederatedClient], Awaitable[T]]) -> T:
        """``call`` on the federated client; directory and configuration failures are 503."""
        client = await self.client()
        try:
            return await call(client)
        except DirectoryError as exc:
            raise ServiceUnavailable(
                f"This gateway holds no valid federation directory: {exc}"
            ) from exc

    async def page(
        self, walk: str, filters: Mapping[str, Any], cursor: str | None, limit: int
    ) -> tuple[FederatedPage[Any], str | None]:
        """One federated page of ``walk`` and the signed cursor of the next one.

        With ``cursor`` the query comes from the cursor (as the SDK requires); ``filters``
        are the operation's query parameters by their spec (camelCase) names.
        """
        method_name = _METHODS[walk]
        inner = self.open_cursor(walk, cursor) if cursor is not None else None

        async def call(client: FederatedClient) -> FederatedPage[Any]:
            method = getattr(client, method_name)
            if inner is not None:
                return cast(FederatedPage[Any], await method(inner))
            return cast(FederatedPage[Any], await method(**filters, limit=limit))

        try:
            page = await self.run(call)
        except ValueError as exc:  # a cursor this gateway signed but can no longer follow
            raise InvalidInput([InvalidParam("cursor", str(exc), "cursor")]) from exc
        return page, self.sign_cursor(walk, page.next_cursor)


def federation_fields(partial: bool, nodes: list[NodeStatus]) -> dict[str, Any]:
    """``partial`` and ``nodes`` of a gateway answer (OW-FED-005)."""
    return {"partial": partial, "nodes": [node_status_document(n) for n in nodes]}
