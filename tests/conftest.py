"""Put ``tests/`` on ``sys.path`` for the small helper modules the test folders share
(``postgres_probe``); pytest's import-mode=importlib does not put test folders there."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
