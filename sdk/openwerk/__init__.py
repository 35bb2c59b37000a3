"""Open Werk Python SDK: clients for nodes of the Open Werk federation.

::

    from openwerk import Client, ClientCredentials, load_private_key, token_endpoint_for

    node = "https://node.example.nl/v1"
    creds = ClientCredentials("platform-x", load_private_key("platform-x.jwk"),
                              token_endpoint_for(node))
    with Client(node, credentials=creds) as client:
        for card in client.search_candidates(arbeidsmarktregio="AM12", hours_min=16):
            print(card.id, card.age_band)

For a whole federation, ``FederatedClient`` (asyncio; ``SyncFederatedClient`` blocks) asks
every provider in the signed directory at once, under one deadline, and merges the answers::

    directory = DirectoryCache(directory_url, operator_public_key)  # openwerk.directory
    async with FederatedClient(directory, client_id="platform-x", private_key=key) as fed:
        result = await fed.match(opportunity=vacancy, limit=20)  # .partial, .nodes

Everything public is listed in ``__all__`` and importable from here; the modules with a
leading underscore are private and may change in any release (a test keeps the two apart).
"""

from openwerk._async_client import AsyncClient, AsyncPublication
from openwerk._client import Client, Publication
from openwerk._errors import (
    ApiError,
    AuthenticationError,
    BadRequest,
    Conflict,
    ConformanceError,
    ConformanceWarning,
    Forbidden,
    InvalidResponseError,
    NotFound,
    OpenWerkError,
    OpenWerkWarning,
    PaginationError,
    PayloadTooLarge,
    ServerError,
    TransportError,
    Unauthorized,
)
from openwerk._federation import FederatedClient
from openwerk._federation_merge import (
    FederatedMatchCard,
    FederatedMatchResult,
    FederatedPage,
    FederatedResult,
)
from openwerk._federation_sync import SyncFederatedClient
from openwerk._introductions import (
    ContactChoice,
    ContactPerson,
    Introduction,
    IntroductionRequest,
    Requester,
    RevealedIdentity,
)
from openwerk._matching import (
    MatchCard,
    MatchFilters,
    MatchRequest,
    MatchResult,
    OpportunityCriteria,
    OpportunityReference,
    ScoreComponents,
)
from openwerk._models import (
    CandidateLocation,
    CandidateProfile,
    CloudEvent,
    Conformance,
    Eligibility,
    Employer,
    HoursRange,
    Instrument,
    InvalidParam,
    LandingPage,
    LanguageSkill,
    Link,
    NodeStatus,
    OccupationRef,
    OpenWerkModel,
    Opportunity,
    OpportunityLocation,
    Problem,
    RequiredSkill,
    SkillRef,
    Statistics,
    StatisticsCell,
    Subscription,
    Task,
    TaskOffer,
    Travel,
    Vacancy,
)
from openwerk._pagination import Page
from openwerk._params import CandidateFilters, InstrumentFilters, OpportunityFilters
from openwerk._transport import sdk_version as _sdk_version
from openwerk.assertions import ClientCredentials, make_client_assertion, token_endpoint_for
from openwerk.directory import DirectoryError
from openwerk.keys import KeyFileError, generate_signing_key, load_private_key
from openwerk_spec.classes import ConformanceClass

__version__ = _sdk_version()

__all__ = [
    "ApiError",
    "AsyncClient",
    "AsyncPublication",
    "AuthenticationError",
    "BadRequest",
    "CandidateFilters",
    "CandidateLocation",
    "CandidateProfile",
    "Client",
    "ClientCredentials",
    "CloudEvent",
    "Conflict",
    "Conformance",
    "ConformanceClass",
    "ConformanceError",
    "ConformanceWarning",
    "ContactChoice",
    "ContactPerson",
    "DirectoryError",
    "Eligibility",
    "Employer",
    "FederatedClient",
    "FederatedMatchCard",
    "FederatedMatchResult",
    "FederatedPage",
    "FederatedResult",
    "Forbidden",
    "HoursRange",
    "Instrument",
    "InstrumentFilters",
    "Introduction",
    "IntroductionRequest",
    "InvalidParam",
    "InvalidResponseError",
    "KeyFileError",
    "LandingPage",
    "LanguageSkill",
    "Link",
    "MatchCard",
    "MatchFilters",
    "MatchRequest",
    "MatchResult",
    "NodeStatus",
    "NotFound",
    "OccupationRef",
    "OpenWerkError",
    "OpenWerkModel",
    "OpenWerkWarning",
    "Opportunity",
    "OpportunityCriteria",
    "OpportunityFilters",
    "OpportunityLocation",
    "OpportunityReference",
    "Page",
    "PaginationError",
    "PayloadTooLarge",
    "Problem",
    "Publication",
    "Requester",
    "RequiredSkill",
    "RevealedIdentity",
    "ScoreComponents",
    "ServerError",
    "SkillRef",
    "Statistics",
    "StatisticsCell",
    "Subscription",
    "SyncFederatedClient",
    "Task",
    "TaskOffer",
    "TransportError",
    "Travel",
    "Unauthorized",
    "Vacancy",
    "__version__",
    "generate_signing_key",
    "load_private_key",
    "make_client_assertion",
    "token_endpoint_for",
]
