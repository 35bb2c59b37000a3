"""Node configuration: environment variables (``OPENWERK_*``) over an optional ``node.toml``.

Settings are built once by the process entry point and passed down (``create_app(settings)``),
never read as a global, so tests can run many differently configured nodes side by side.
Values that the standard fixes a floor for are refused here, before anything starts: a node
with ``k < 5`` or without a pseudonym secret in production must not come up at all.

A minimal ``node.toml`` (every key can also be set as ``OPENWERK_<KEY>``, nested keys as
``OPENWERK_IDENTIFIERS__OIN``, lists comma-separated)::

    node_id = "werk-utrecht"
    node_name = "Werk Utrecht"
    organisation_type = "gemeente"
    organisation_name = "Gemeente Utrecht"
    arbeidsmarktregios = ["AM13"]
    gemeenten = ["GM0344"]
    base_url = "https://werk.utrecht.example.nl/v1"
    database_url = "postgresql+psycopg://openwerk@db/openwerk"
    pseudonym_secret = "<at least 32 random characters>"

    [identifiers]
    oin = "00000001002220647000"
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from openwerk_spec.codelists import codes, gemeente_region

__all__ = ["NodeIdentifiers", "NodeSettings", "describe_settings_error"]

ENV_PREFIX = "OPENWERK_"
MIB = 1024 * 1024

# The file ``NodeSettings.from_file`` is reading, if any. A context variable rather than a
# class attribute so two threads can load two files without seeing each other's path.
_CONFIG_FILE: ContextVar[Path | None] = ContextVar("openwerk_config_file", default=None)

_NODE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")  # components/schemas/NodeId
_SECRET_MIN = 32


def _split_list(value: Any) -> Any:
    """Accept ``GM0363,GM0344`` from an environment variable as well as a JSON/TOML list."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class NodeIdentifiers(BaseModel):
    """Public registry numbers of the organisation running the node (landing page)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    oin: str | None = Field(default=None, pattern=r"^[0-9]{20}$")
    kvk_number: str | None = Field(default=None, pattern=r"^[0-9]{8}$")
    cbs_gemeentecode: str | None = None

    @field_validator("cbs_gemeentecode")
    @classmethod
    def _known_gemeente(cls, value: str | None) -> str | None:
        if value is not None and value not in codes("gemeenten"):
            raise ValueError(f"{value!r} is not a gemeente code (code list gemeenten)")
        return value


class NodeSettings(BaseSettings):
    """Everything a node needs to know about itself (sample ``node.toml`` above)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    environment: Literal["development", "production"] = "production"
    node_id: str
    node_name: str = Field(min_length=1, max_length=200)
    node_description: str | None = None
    organisation_type: str
    organisation_name: str = Field(min_length=1, max_length=200)
    identifiers: NodeIdentifiers = Field(default_factory=NodeIdentifiers)
    arbeidsmarktregios: Annotated[list[str], NoDecode] = Field(default_factory=list)
    gemeenten: Annotated[list[str], NoDecode] = Field(default_factory=list)
    mode: Literal["node", "gateway"] = "node"

    base_url: str = "http://127.0.0.1:8000/v1"
    database_url: str = "sqlite:///./openwerk.db"
    #: ``None``: migrate SQLite files on start, leave PostgreSQL to an explicit ``migrate``
    #: (several replicas starting at once should not race each other's DDL).
    migrate_on_start: bool | None = None

    k: int = 5
    pseudonym_secret: SecretStr | None = Field(default=None, validate_default=True)
    node_key_path: Path | None = None
    directory_path: Path | None = None
    operator_key_path: Path | None = None

    public_opportunities: bool = True
    #: ``mode = "gateway"``: the one deadline of a whole fan-out (OW-FED-004), in seconds.
    gateway_deadline_seconds: float = Field(default=5.0, gt=0, le=60)
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600)
    introduction_ttl_days: int = Field(default=14, ge=1, le=90)
    #: Webhooks (spec/docs/events.md): the delays in seconds before attempts 2, 3, ... of a
    #: delivery (default: the spec's schedule, 8 attempts in about 28 hours); after the last
    #: one fails, the delivery and its subscription are ``failed`` (OW-EVT-005, OW-EVT-006).
    webhook_retry_delays: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0],
        min_length=1,
        max_length=20,
    )
    #: Up to this fraction of random jitter on each delay (the spec allows 10 %).
    webhook_retry_jitter: float = Field(default=0.1, ge=0, le=0.1)
    #: An attempt not answered with 2xx within this many seconds failed (the spec: 15).
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=15)
    #: Run the delivery worker in this process (every replica may: claims are in the database).
    webhook_worker: bool = True
    webhook_worker_interval_seconds: float = Field(default=0.5, gt=0, le=60)
    #: Accept ``http://`` loopback subscription URLs (testing only, OW-EVT-009); unset: only
    #: in development.
    webhook_allow_loopback: bool | None = None
    # The spec's floor for the node's limits (components/responses/PayloadTooLarge).
    max_body_bytes: int = Field(default=MIB, ge=MIB)
    max_batch_body_bytes: int = Field(default=10 * MIB, ge=10 * MIB)
    page_limit_default: int = Field(default=20, ge=1, le=100)
    page_limit_max: int = Field(default=100, ge=1, le=100, validate_default=True)

    # ------------------------------------------------------------------ sources
    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Priority, highest first: constructor arguments, environment, then the TOML file."""
        path = _CONFIG_FILE.get()
        if path is None:
            return (init_settings, env_settings)
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, path))

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> NodeSettings:
        """Settings from a TOML file, with ``OPENWERK_*`` environment variables winning.

        A missing file is an error here (``TomlConfigSettingsSource`` alone would silently
        ignore it and start a node with defaults the operator never chose).
        """
        config_path = Path(path)
        if not config_path.is_file():
            raise FileNotFoundError(f"configuration file {config_path} does not exist")
        with _reading(config_path):
            return cls(**overrides)

    # ------------------------------------------------------------------ field rules
    @field_validator("node_id")
    @classmethod
    def _node_id(cls, value: str) -> str:
        if not _NODE_ID.fullmatch(value):
            raise ValueError("must be 2-63 characters of a-z, 0-9 and '-', starting alphanumeric")
        return value

    @field_validator("organisation_type")
    @classmethod
    def _organisation_type(cls, value: str) -> str:
        if value not in codes("organisation-types"):
            allowed = ", ".join(sorted(codes("organisation-types")))
            raise ValueError(f"{value!r} is not an organisation type (one of {allowed})")
        return value

    @field_validator("arbeidsmarktregios", "gemeenten", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("arbeidsmarktregios")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        unknown = [code for code in value if code not in codes("arbeidsmarktregios")]
        if unknown:
            raise ValueError(f"unknown arbeidsmarktregio code(s): {', '.join(unknown)}")
        return value

    @field_validator("gemeenten")
    @classmethod
    def _gemeenten(cls, value: list[str]) -> list[str]:
        unknown = [code for code in value if code not in codes("gemeenten")]
        if unknown:
            raise ValueError(f"unknown gemeente code(s): {', '.join(unknown)}")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        url = value.rstrip("/")
        if not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?/v1", url):
            raise ValueError("must be the public http(s) URL of the API, ending in /v1")
        return url

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError as exc:
            raise ValueError(f"not a database URL ({exc})") from exc
        if backend not in ("sqlite", "postgresql"):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @field_validator("k")
    @classmethod
    def _k(cls, value: int) -> int:
        if value < 5:
            raise ValueError("k must be at least 5 (OW-KANON-001)")
        return value

    @field_validator("node_key_path", "directory_path", "operator_key_path")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file {value} does not exist")
        return value

    # Rules that involve two settings are field validators on the later one (``info.data``
    # holds the earlier ones), so they are reported together with every other problem.
    @field_validator("gemeenten")
    @classmethod
    def _gemeenten_in_regions(cls, value: list[str], info: ValidationInfo) -> list[str]:
        regions = info.data.get("arbeidsmarktregios") or []
        outside = [g for g in value if regions and gemeente_region(g) not in regions]
        if outside:
            raise ValueError(
                ", ".join(f"{g} lies in {gemeente_region(g)}" for g in outside)
                + ", which is not in arbeidsmarktregios"
            )
        return value

    @field_validator("pseudonym_secret")
    @classmethod
    def _secret_outside_development(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if info.data.get("environment", "production") == "production":
            secret = value.get_secret_value() if value is not None else ""
            if len(secret) < _SECRET_MIN:
                raise ValueError(
                    f"at least {_SECRET_MIN} random characters are required outside "
                    "development (it keys pseudonyms and cursors)"
                )
        return value

    @field_validator("page_limit_max")
    @classmethod
    def _limits_ordered(cls, value: int, info: ValidationInfo) -> int:
        default = info.data.get("page_limit_default")
        if isinstance(default, int) and default > value:
            raise ValueError("must not be below page_limit_default")
        return value

    # ------------------------------------------------------------------ derived values
    @property
    def regions(self) -> list[str]:
        """The regions served: as configured, else those of the configured gemeenten."""
        if self.arbeidsmarktregios:
            return list(self.arbeidsmarktregios)
        return sorted({gemeente_region(g) for g in self.gemeenten})

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is a SQLite file (migrated on start by default)."""
        return make_url(self.database_url).get_backend_name() == "sqlite"


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    token = _CONFIG_FILE.set(path)
    try:
        yield
    finally:
        _CONFIG_FILE.reset(token)


def _env_name(loc: tuple[str | int, ...]) -> str:
    names = [str(part) for part in loc if isinstance(part, str)]
    return ENV_PREFIX + "__".join(name.upper() for name in names)


def _toml_name(loc: tuple[str | int, ...]) -> str:
    names = [str(part) for part in loc if isinstance(part, str)]
    if len(names) > 1:
        return f"{names[-1]} in [{'.'.join(names[:-1])}]"
    return names[0] if names else "?"


def describe_settings_error(exc: ValidationError) -> str:
    """One line per problem, naming the field and where to set it, for a failed start.

    Pydantic's own text is several lines per error with links; an operator starting a node
    needs ``field: what is wrong — where to fix it`` and nothing else.
    """
    lines: list[str] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if not loc:
            # A model-level rule; its message starts with the field it is about.
            field, _, rest = message.partition(": ")
            if rest and field.isidentifier():
                loc, message = (field,), rest
            else:
                lines.append(message)
                continue
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
        if error["type"] == "missing":
            message = "required but not set"
        elif error["type"] == "extra_forbidden":
            lines.append(f"{where}: not a setting of Open Werk — remove it")
            continue
        lines.append(f"{where}: {message} — set {_env_name(loc)} or {_toml_name(loc)} in node.toml")
    return "\n".join(lines)
