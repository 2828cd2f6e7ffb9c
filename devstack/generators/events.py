"""API Gateway HTTP API (payload 2.0) events: built for the local front, and written to events/.

`python -m devstack events` rewrites events/*.json from the demo catalogue; a test fails when the
committed files drift from it.
"""

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from devstack.runtime.template_resources import ROOT, http_api_routes

EVENTS_DIR = ROOT / "events"


def _route_pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


@dataclass(frozen=True)
class MatchedRoute:
    route_key: str
    function: str
    path_parameters: dict[str, str]
    needs_jwt: bool


ROUTES = [(method, path, function, jwt, _route_pattern(path)) for method, path, function, jwt in http_api_routes()]


DEFAULT_ROUTE = "$default"


def match_route(method: str, raw_path: str) -> MatchedRoute | None:
    """The template route a request matches, like API Gateway: a route of its own first, else the
    `$default` route if the template has one, else None. Paths are taken as sent: `//api/...`
    matches no route of its own (the stricter of the readings API Gateway might take)."""
    for route_method, route_path, function, needs_jwt, pattern in ROUTES:
        if route_path == DEFAULT_ROUTE:
            continue
        match = pattern.match(raw_path)
        if match and route_method == method:
            parameters = {k: unquote(v) for k, v in match.groupdict().items()}
            return MatchedRoute(f"{method} {route_path}", function, parameters, needs_jwt)
    for _, route_path, function, needs_jwt, _ in ROUTES:
        if route_path == DEFAULT_ROUTE:
            return MatchedRoute(DEFAULT_ROUTE, function, {}, needs_jwt)
    return None


def http_api_event(
    method: str,
    raw_path: str,
    *,
    claims: dict[str, Any] | None,
    headers: dict[str, str] | None = None,
    raw_query: str = "",
    body: str | None = None,
    is_base64: bool = False,
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The event API Gateway sends the function for a request that matched one of our routes."""
    matched = match_route(method, raw_path)
    if matched is None:
        raise ValueError(f"no route for {method} {raw_path}")
    route_key, path_parameters = matched.route_key, matched.path_parameters
    now = now or datetime.now(UTC)
    request_id = request_id or str(uuid.uuid4())
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
    }
    if raw_query:
        query: dict[str, str] = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            query[key] = f"{query[key]},{value}" if key in query else value
        event["queryStringParameters"] = query
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": "127.0.0.1",
        "domainPrefix": "127",
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now.timestamp() * 1000),
    }
    if claims is not None:
        # What the user authorizer answered in its context (contract §2): the subject and the username.
        context["authorizer"] = {"lambda": dict(claims)}
    event["requestContext"] = context
    if path_parameters:  # API Gateway leaves them out on routes without any, $default among them
        event["pathParameters"] = path_parameters
    event["isBase64Encoded"] = is_base64
    if body is not None:
        event["body"] = body
    return event


def authorizer_event(method: str, raw_path: str, *, headers: dict[str, str], raw_query: str = "") -> dict[str, Any]:
    """The event API Gateway sends a Lambda authorizer (payload 2.0, REQUEST) for a request to a route
    behind it: the request as the function would see it, without the body, with the route's ARN."""
    event = http_api_event(method, raw_path, claims=None, headers=headers, raw_query=raw_query)
    for key in ("body", "isBase64Encoded"):
        event.pop(key, None)
    context = event["requestContext"]
    route_arn = f"arn:aws:execute-api:us-east-1:{context['accountId']}:{context['apiId']}/$default/{method}{raw_path}"
    return {"type": "REQUEST", "routeArn": route_arn, "identitySource": [], **event}


def load_event(name: str) -> dict[str, Any]:
    """An event from events/ by file name without .json."""
    return json.loads((EVENTS_DIR / f"{name}.json").read_text())


def write_events(events: dict[str, dict[str, Any]], directory: Path = EVENTS_DIR) -> list[Path]:
    directory.mkdir(exist_ok=True)
    written = []
    for name, event in sorted(events.items()):
        path = directory / f"{name}.json"
        path.write_text(json.dumps(event, indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written
