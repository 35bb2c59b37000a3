"""Persistence of a node: the ``Store`` and the typed values it takes and returns."""

from openwerk_server.storage.queries import (
    BatchItem,
    BatchResult,
    CandidateInput,
    CandidateQuery,
    ConsentInput,
    ConsentQuery,
    EventQuery,
    InstrumentInput,
    InstrumentQuery,
    Key,
    OpportunityInput,
    OpportunityQuery,
    Page,
    Resource,
)
from openwerk_server.storage.records import (
    StoredCandidate,
    StoredConsent,
    StoredEvent,
    StoredInstrument,
    StoredOpportunity,
)
from openwerk_server.storage.store import Clock, Store, utc_now

__all__ = [
    "BatchItem",
    "BatchResult",
    "CandidateInput",
    "CandidateQuery",
    "Clock",
    "ConsentInput",
    "ConsentQuery",
    "EventQuery",
    "InstrumentInput",
    "InstrumentQuery",
    "Key",
    "OpportunityInput",
    "OpportunityQuery",
    "Page",
    "Resource",
    "Store",
    "StoredCandidate",
    "StoredConsent",
    "StoredEvent",
    "StoredInstrument",
    "StoredOpportunity",
    "utc_now",
]
