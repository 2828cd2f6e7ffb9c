"""Environment variables, modelled once and read once per container."""

import json
import os
from collections.abc import Mapping
from functools import cache
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from tasklogs_core.adapters.address_policy import IpNetwork, parse_networks
from tasklogs_core.domain.secrets import Allowlist, ExtraPatterns

Model = TypeVar("Model", bound=BaseModel)

# The JWT claim that holds the username (contract §2), unless USERNAME_CLAIM names another.
DEFAULT_USERNAME_CLAIM = "username"


def _from_environment(model: type[Model], prefix: str = "") -> Model:
    """Each field from the variable named like it in capitals (after `prefix`); an unset or empty one
    keeps the field's default, and a required one missing fails validation, naming it."""
    found = {name: os.environ.get(f"{prefix}{name.upper()}") for name in model.model_fields}
    return model(**{name: value for name, value in found.items() if value})


def _networks(value: Any) -> Any:
    # A typo fails loudly at the first request, naming the setting.
    return parse_networks(value) if isinstance(value, str) else value


def _json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None


class Settings(BaseModel):
    tasks_table_name: str = Field(min_length=1)
    snapshots_bucket_name: str = Field(min_length=1)
    # Transcript session headers (docs/transcripts.md); their chunks live in the snapshots bucket.
    transcripts_table_name: str = Field(min_length=1)
    username_claim: str = DEFAULT_USERNAME_CLAIM
    # Upper bound for one call to a task's AgentAPI, whatever time the Lambda has left.
    agentapi_timeout_seconds: float = Field(default=8.0, gt=0)
    # Time kept back from the Lambda deadline to turn an agent timeout into a 504 response.
    response_margin_seconds: float = Field(default=1.0, ge=0)
    # CIDRs the agents live in (comma-separated in the environment); none: any address but loopback and
    # link-local.
    agentapi_allowed_networks: Annotated[tuple[IpNetwork, ...], BeforeValidator(_networks)] = ()
    # Entry content the capture at pause keeps of one session (contract §7); older entries become an
    # `over size limit` gap.
    transcript_session_max_bytes: int = Field(default=16 * 1024 * 1024, ge=64 * 1024)
    # Every active task's agent is read at least this often (contract §11); the template's
    # CheckpointIntervalSeconds.
    checkpoint_interval_seconds: int = Field(default=60, ge=1)
    # Where the checkpoint schedule sends the tasks due (only its function and the checkpoint's have one).
    checkpoint_queue_url: str = ""


@cache
def get_settings() -> Settings:
    return _from_environment(Settings)


def _scanner_takes(patterns: ExtraPatterns) -> ExtraPatterns:
    if patterns.root:  # the scanner's own compiler is the only judge (its syntax is not Python's)
        from tasklogs_core.adapters.secret_scanner import pattern_problems

        if problems := pattern_problems(patterns.root):
            raise ValueError("; ".join(problems))
    return patterns


class SecretSettings(BaseModel):
    """The deployment's own secret rules (contract §12, docs/redaction.md), JSON: the template's
    SecretPatterns and SecretAllowlist, which the stack's check and `make deploy` read with this same
    model. Only the scanning functions and those checks read it (they carry the scanner)."""

    secret_patterns: Annotated[ExtraPatterns, BeforeValidator(_json), AfterValidator(_scanner_takes)] = ExtraPatterns(
        {}
    )
    secret_allowlist: Annotated[Allowlist, BeforeValidator(_json)] = Allowlist([])


@cache
def get_secret_settings() -> SecretSettings:
    return _from_environment(SecretSettings)


# The template's parameters for them, and the settings they become.
SECRET_RULE_PARAMETERS = {"SecretPatterns": "secret_patterns", "SecretAllowlist": "secret_allowlist"}


def secret_rule_problems(parameters: Mapping[str, object]) -> list[str]:
    """What the scanning functions would refuse of the deployment's secret rules, given as the template
    parameters name them (`make deploy` and the stack's own check both ask), one line a problem."""
    from pydantic import ValidationError

    found = []
    for parameter, field in SECRET_RULE_PARAMETERS.items():
        if parameter not in parameters:
            continue
        try:
            SecretSettings.model_validate({field: parameters[parameter]})
        except ValidationError as exc:
            for error in exc.errors(include_url=False, include_input=False):
                where = "".join(f"{part}: " for part in error["loc"][1:])
                found.append(f"{parameter}: {where}{error['msg'].removeprefix('Value error, ')}")
    return found


class AuthSettings(BaseModel):
    """The user authorizer's settings: whose tokens it trusts (contract §2)."""

    jwt_issuer: str = Field(min_length=1)
    # Accepted `aud` (or, when a token has none, `client_id`) values; comma-separated in the environment.
    jwt_audiences: tuple[str, ...] = Field(min_length=1)
    # Empty: found through the issuer's OpenID discovery document.
    jwks_uri: str = ""
    username_claim: str = DEFAULT_USERNAME_CLAIM
    # Bound for one fetch of the discovery document or the keys; the authorizer's timeout is 5 s.
    key_fetch_timeout_seconds: float = Field(default=2.0, gt=0)


@cache
def get_auth_settings() -> AuthSettings:
    # JWT_AUDIENCE is one variable, comma-separated: not named like its field.
    return AuthSettings(
        jwt_issuer=os.environ.get("JWT_ISSUER", ""),
        jwt_audiences=tuple(a.strip() for a in os.environ.get("JWT_AUDIENCE", "").split(",") if a.strip()),
        jwks_uri=os.environ.get("JWKS_URI", ""),
        username_claim=os.environ.get("USERNAME_CLAIM") or DEFAULT_USERNAME_CLAIM,
    )


class ViewerSettings(BaseModel):
    """The web viewer's sign-in: an OpenID Connect provider's authorization code flow with PKCE, as a
    public client (no secret). Endpoints may be paths on the API's own origin (the local stack's)."""

    oidc_client_id: str = ""
    oidc_authorization_endpoint: str = ""
    oidc_token_endpoint: str = ""
    # Empty: signing out forgets the token in this tab only.
    oidc_logout_endpoint: str = ""
    # Empty: signing out forgets the refresh token in this tab only, and it stays valid at the provider.
    oidc_revocation_endpoint: str = ""
    oidc_scopes: str = "openid"
    # Which token of the provider's answer the API's authorizer accepts (its `aud` is JWT_AUDIENCE).
    oidc_token: Literal["id_token", "access_token"] = "id_token"  # noqa: S105 - which token, not one


@cache
def get_viewer_settings() -> ViewerSettings:
    return _from_environment(ViewerSettings, prefix="VIEWER_")
