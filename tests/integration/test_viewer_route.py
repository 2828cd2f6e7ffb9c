"""ViewerFunction: the web viewer's files and sign-in settings, served without an authorizer and
without task data, with a policy that keeps every script but its own out."""

import json

import pytest

from devstack.demo.catalogue import viewer_requests
from devstack.generators.events import load_event
from devstack.runtime import lambda_runtime
from tasklogs_core.adapters.settings import ViewerSettings
from tasklogs_core.use_cases.viewer import security_headers
from tests.expected import EXPECTED_VIEWER


def viewer(event: dict) -> dict:
    result, _, _ = lambda_runtime.invoke_timed("ViewerFunction", event, None)
    return result


def test_every_viewer_event_has_an_expected_answer() -> None:
    assert set(viewer_requests()) == set(EXPECTED_VIEWER)


@pytest.mark.parametrize("name", sorted(EXPECTED_VIEWER))
def test_every_event_answers_as_expected(handler_env, name: str) -> None:
    status, content_type, message = EXPECTED_VIEWER[name]
    result = viewer(load_event(name))
    assert (result["statusCode"], result["headers"]["Content-Type"]) == (status, content_type)
    if message is not None:
        assert json.loads(result["body"]) == {"message": message}
    # Every answer, a 404 too, carries the page's policy: not framed, not sniffed.
    assert "default-src 'none'" in result["headers"]["Content-Security-Policy"]
    assert result["headers"]["X-Content-Type-Options"] == "nosniff"
    assert result["headers"]["X-Frame-Options"] == "DENY"


def test_a_task_s_name_is_a_302_to_its_page_and_anything_with_a_dot_a_404(handler_env) -> None:
    event = load_event("viewer_task_name")
    assert viewer(event)["headers"]["Location"] == "/viewer#/tasks/refactor-auth"
    odd = {**event, "rawPath": "/viewer/a%23b c", "pathParameters": {"name": "a#b c"}}
    assert viewer(odd)["headers"]["Location"] == "/viewer#/tasks/a%23b%20c"  # the name stays one fragment segment
    missing = {**event, "rawPath": "/viewer/app.min.js", "pathParameters": {"name": "app.min.js"}}
    assert viewer(missing)["statusCode"] == 404


def test_an_answer_without_a_route_carries_the_policy_too(handler_env) -> None:
    event = load_event("viewer_unknown_file")
    event = {**event, "rawPath": "/viewer/a/b", "routeKey": "$default"}
    result = viewer(event)
    assert result["statusCode"] == 404 and result["headers"]["X-Frame-Options"] == "DENY"


def test_the_page_loads_only_its_own_script_and_style(handler_env) -> None:
    page = viewer(load_event("viewer_page"))["body"]
    assert '<script src="/viewer/app.js" defer></script>' in page
    assert '<link rel="stylesheet" href="/viewer/app.css">' in page
    assert page.count("<script") == 1 and "style=" not in page and "http" not in page.replace("http-equiv", "")


def test_the_sign_in_settings_come_from_the_template_s_parameters(handler_env, monkeypatch) -> None:
    from tasklogs_core.adapters import clients

    cognito = "https://tasklogs.auth.eu-west-1.amazoncognito.com"
    monkeypatch.setenv("VIEWER_OIDC_CLIENT_ID", "3n4b5c6d7e8f")
    monkeypatch.setenv("VIEWER_OIDC_AUTHORIZATION_ENDPOINT", f"{cognito}/oauth2/authorize")
    monkeypatch.setenv("VIEWER_OIDC_TOKEN_ENDPOINT", f"{cognito}/oauth2/token")
    monkeypatch.setenv("VIEWER_OIDC_LOGOUT_ENDPOINT", f"{cognito}/logout")
    monkeypatch.setenv("VIEWER_OIDC_REVOCATION_ENDPOINT", f"{cognito}/oauth2/revoke")
    monkeypatch.setenv("VIEWER_OIDC_SCOPES", "openid email")
    clients.reset()
    result = viewer(load_event("viewer_sign_in"))
    assert json.loads(result["body"]) == {
        "client_id": "3n4b5c6d7e8f",
        "authorization_endpoint": f"{cognito}/oauth2/authorize",
        "token_endpoint": f"{cognito}/oauth2/token",
        "logout_endpoint": f"{cognito}/logout",
        "revocation_endpoint": f"{cognito}/oauth2/revoke",
        "scope": "openid email",
        "token": "id_token",
    }
    # The browser may post the code and the refresh token to the provider's token and revocation
    # endpoints (one origin at Cognito, named once), and nowhere else off this origin.
    assert f"connect-src 'self' {cognito};" in result["headers"]["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("endpoint", "connect"),
    [
        ("", "connect-src 'self';"),
        ("/_devstack/idp/token", "connect-src 'self';"),
        ("https://idp.example.com:8443/token?x=1", "connect-src 'self' https://idp.example.com:8443;"),
        ("javascript:alert(1)", "connect-src 'self';"),
    ],
)
def test_the_policy_names_only_the_token_endpoint_s_origin(endpoint: str, connect: str) -> None:
    policy = security_headers(ViewerSettings(oidc_token_endpoint=endpoint))["Content-Security-Policy"]
    assert connect in policy


def test_the_policy_names_the_revocation_endpoint_s_origin_too() -> None:
    settings = ViewerSettings(
        oidc_token_endpoint="https://login.example.com/oauth2/v1/token",
        oidc_revocation_endpoint="https://revoke.example.com/oauth2/v1/revoke",
    )
    policy = security_headers(settings)["Content-Security-Policy"]
    assert "connect-src 'self' https://login.example.com https://revoke.example.com;" in policy
