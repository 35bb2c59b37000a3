"""The SDK's public surface is exactly ``openwerk.__all__`` (httpx's discipline).

Private modules (``openwerk._client`` ...) may change in any release; these tests keep users
from reaching them by accident through the package namespace.
"""

from __future__ import annotations

import inspect
import types

import openwerk

#: The public names. Adding one is a deliberate API change: update this list with it.
EXPECTED = {
    # clients
    "Client",
    "AsyncClient",
    "Publication",
    "AsyncPublication",
    "Page",
    "FederatedClient",
    "SyncFederatedClient",
    "ClientCredentials",
    "make_client_assertion",
    "token_endpoint_for",
    "generate_signing_key",
    "load_private_key",
    "KeyFileError",
    "ConformanceClass",
    "__version__",
    # errors and warnings
    "OpenWerkError",
    "TransportError",
    "ApiError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Conflict",
    "PayloadTooLarge",
    "ServerError",
    "AuthenticationError",
    "ConformanceError",
    "PaginationError",
    "InvalidResponseError",
    "DirectoryError",
    "OpenWerkWarning",
    "ConformanceWarning",
    # request helpers and filters
    "MatchRequest",
    "MatchFilters",
    "IntroductionRequest",
    "OpportunityFilters",
    "InstrumentFilters",
    "CandidateFilters",
    # models
    "OpenWerkModel",
    "LandingPage",
    "Conformance",
    "Link",
    "NodeStatus",
    "Problem",
    "InvalidParam",
    "Opportunity",
    "Vacancy",
    "TaskOffer",
    "Task",
    "Employer",
    "Instrument",
    "OccupationRef",
    "SkillRef",
    "RequiredSkill",
    "HoursRange",
    "OpportunityLocation",
    "CandidateLocation",
    "LanguageSkill",
    "Travel",
    "Eligibility",
    "CandidateProfile",
    "OpportunityReference",
    "OpportunityCriteria",
    "ScoreComponents",
    "MatchCard",
    "MatchResult",
    "FederatedResult",
    "FederatedPage",
    "FederatedMatchCard",
    "FederatedMatchResult",
    "ContactPerson",
    "ContactChoice",
    "RevealedIdentity",
    "Requester",
    "Introduction",
    "Statistics",
    "StatisticsCell",
    "CloudEvent",
    "Subscription",
}


def test_all_lists_exactly_the_public_names() -> None:
    assert len(openwerk.__all__) == len(set(openwerk.__all__)), "duplicates in __all__"
    assert set(openwerk.__all__) == EXPECTED


def test_every_public_name_resolves() -> None:
    for name in openwerk.__all__:
        assert getattr(openwerk, name) is not None, name


def test_no_private_module_leaks_into_public_names() -> None:
    for name in openwerk.__all__:
        value = getattr(openwerk, name)
        assert not isinstance(value, types.ModuleType), f"{name} is a module"
        assert not name.startswith("_") or name == "__version__"


def test_public_classes_and_functions_are_documented() -> None:
    for name in openwerk.__all__:
        value = getattr(openwerk, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_namespace_has_no_public_extras() -> None:
    # Names a user could reach by tab completion but that are not in __all__.
    public = {n for n in vars(openwerk) if not n.startswith("_")}
    submodules = {"assertions", "directory", "keys", "synthetic", "cli"}
    assert public - set(openwerk.__all__) <= submodules


def test_private_modules_declare_their_exports() -> None:
    import importlib

    for module_name in (
        "_async_client",
        "_auth",
        "_base",
        "_client",
        "_conformance",
        "_errors",
        "_fanout",
        "_federation",
        "_federation_merge",
        "_federation_sync",
        "_introductions",
        "_matching",
        "_models",
        "_operations",
        "_pagination",
        "_params",
        "_transport",
    ):
        module = importlib.import_module(f"openwerk.{module_name}")
        exported = getattr(module, "__all__", None)
        assert exported is not None, module_name
        for name in exported:
            assert hasattr(module, name), f"openwerk.{module_name}.{name}"
