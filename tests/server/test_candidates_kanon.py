"""k-anonymity at scale: 5,000 synthetic candidates of one arbeidsmarktregio, two consumers.

Each consumer pages through every card its search returns and counts the quasi-identifier
classes exactly as the conformance suite does (``privacy.kanon.class_sizes``): every class
must hold at least k cards (OW-KANON-003). The withheld share is compared with the
custodian's report (``listWithheldProfiles``) and printed (``pytest -s``).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from openwerk.synthetic import Generator
from openwerk_server.privacy.kanon import class_sizes
from openwerk_server.storage import BatchItem, Store

PUBLISHER = {"Authorization": "Bearer publisher-token"}
CONSUMERS = {
    "consumer-a": {"Authorization": "Bearer consumer-a-token"},  # platform
    "consumer-b": {"Authorization": "Bearer consumer-b-token"},  # werkgever
}
POOL = 5_000
K = 5


def _seed(store: Store) -> None:
    generator = Generator(
        2025, node_id="test-node", arbeidsmarktregio="AM13", today=store.today(),
        members=("consumer-a", "consumer-c"),
    )  # fmt: skip
    items = [BatchItem.from_document(entry) for entry in generator.candidate_batch_items(POOL)]
    for start in range(0, POOL, 1_000):
        store.create_candidate_batch(items[start : start + 1_000])


def _all_cards(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = []
    url: str | None = "/v1/candidates?limit=100"
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        cards += body["items"]
        url = body["links"].get("next", {}).get("href")
    return cards


def test_every_published_class_has_at_least_k_cards(module_client: TestClient) -> None:
    started = time.perf_counter()
    store: Store = module_client.app.state.store  # type: ignore[attr-defined]
    _seed(store)
    lines = [f"\nk-anonymity over {POOL} candidates in AM13, k = {K}:"]
    for consumer, headers in CONSUMERS.items():
        cards = _all_cards(module_client, headers)
        assert len({card["id"] for card in cards}) == len(cards)
        sizes = class_sizes(cards)
        assert min(sizes.values()) >= K, {key: n for key, n in sizes.items() if n < K}
        assert all(card["location"]["arbeidsmarktregio"] == "AM13" for card in cards)

        report = module_client.get(
            "/v1/publication/withheld-profiles",
            params={"consumer": consumer, "limit": 100},
            headers=PUBLISHER,
        ).json()
        assert report["publishedCount"] == len(cards)
        withheld = report["withheldCount"]
        assert all(item["classSize"] < K and item["k"] == K for item in report["items"])
        eligible = len(cards) + withheld
        levels: dict[int, int] = {}
        for card in cards:
            levels[len(card["generalised"])] = levels.get(len(card["generalised"]), 0) + 1
        lines.append(
            f"  {consumer}: {eligible} eligible, {len(cards)} published in {len(sizes)} "
            f"classes (smallest {min(sizes.values())}), {withheld} withheld "
            f"({100 * withheld / eligible:.2f} %); cards per level {dict(sorted(levels.items()))}"
        )
    elapsed = time.perf_counter() - started
    lines.append(f"  ({elapsed:.1f} s including seeding)")
    print("\n".join(lines))


@pytest.fixture(autouse=True)
def _no_directory(module_client: TestClient) -> None:
    # The report covers the consumers seen in the processing log (no directory here).
    assert module_client.app.state.directory is None  # type: ignore[attr-defined]
