"""The suite as a federation: its operator directory and provider nodes for gateway tests.

``setup`` writes what a vendor configures their gateway with (``federation prepare``);
``providers`` serves the suite's providers during a run with ``--federation DIR``.
"""

from openwerk_conformance.federation.providers import ProviderSet, serve_providers
from openwerk_conformance.federation.setup import FederationSetup, load_setup, prepare

__all__ = ["FederationSetup", "ProviderSet", "load_setup", "prepare", "serve_providers"]
