"""The web viewer in a real browser: headless Chromium (Debian's `chromium`, which .ci/run installs)
driven by Playwright, against the local stack over HTTP, signed in through the local identity
provider's authorization code flow with PKCE. Without a Chromium they are skipped, saying why, unless
TASKLOGS_REQUIRE_BROWSER is set (.ci/run sets it: CI always runs them). Screenshots land in
.artifacts/screenshots/; with TASKLOGS_README_SCREENSHOTS=1 the paused and live ones also refresh
docs/screenshots/ for docs/viewer.md."""

import os
import shutil
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from devstack.runtime.local_idp import TOKEN_LIFETIME_SECONDS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".artifacts" / "screenshots"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _browser_path() -> str | None:
    return os.environ.get("TASKLOGS_CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        _browser_path() is None and not os.environ.get("TASKLOGS_REQUIRE_BROWSER"),
        reason="no Chromium on this machine: the web viewer's browser tests need one (apt-get install chromium; "
        ".ci/run installs it), or TASKLOGS_CHROMIUM=/path/to/chrome",
    ),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=_browser_path(), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser, stack, request):
    """A fresh tab (its own sessionStorage), signed in as alice by opening the viewer's URL, as the
    README says; a screenshot of where it ended is kept as a test artifact."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, color_scheme="light")
    tab = context.new_page()
    tab.problems = []
    tab.on("pageerror", lambda error: tab.problems.append(str(error)))
    tab.on(
        "console", lambda m: m.type == "error" and "Content Security Policy" in m.text and tab.problems.append(m.text)
    )
    tab.goto(f"{stack.url}/viewer")
    tab.wait_for_selector("ul.tasks li")
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    context.close()


def open_task(page, stack, name: str) -> None:
    page.goto(f"{stack.url}/viewer#/tasks/{name}")
    page.wait_for_selector("#banner:not(:empty)")


def readme_screenshot(page, name: str) -> None:
    if os.environ.get("TASKLOGS_README_SCREENSHOTS"):
        page.screenshot(path=str(ROOT / "docs" / "screenshots" / f"{name}.png"))


def test_the_viewer_url_signs_alice_in_and_lists_her_tasks(page, stack) -> None:
    names = page.locator("ul.tasks li").evaluate_all(
        "rows => rows.map(r => [r.dataset.task, r.querySelector('.badge').textContent])"
    )
    listed = {t["name"]: t["status"] for t in stack.api("/api/v2/tasks").json()["tasks"]}
    assert dict(names) == listed and "bobs-task" not in listed
    assert page.locator("#who").text_content() == "alice"
    assert "code=" not in page.url and "token" not in page.url, "the sign-in leaves nothing in the address bar"
    assert page.evaluate("sessionStorage.getItem('tasklogs.token')").count(".") == 2
    assert page.problems == []


# Whether the element is on screen and not under the sticky bar: what is at its middle is the element.
IN_VIEW = """node => {
  const box = node.getBoundingClientRect();
  const bar = document.querySelector("header.bar").getBoundingClientRect();
  const hit = document.elementFromPoint(box.left + box.width / 2, box.top + Math.min(box.height, 20) / 2);
  return box.top >= bar.bottom && box.bottom <= innerHeight && node.contains(hit);
}"""


def test_the_list_opens_at_the_top_its_heading_below_the_bar(page, stack) -> None:
    assert page.evaluate("window.scrollY") == 0
    assert page.locator("main h1").evaluate(IN_VIEW), "the heading is in view, not under the bar"


def test_a_task_page_is_headed_by_the_name_the_list_shows(page, stack) -> None:
    open_task(page, stack, "refactor-auth")
    assert page.locator("main h1").text_content() == "refactor-auth"
    assert page.locator(".display-name").text_content() == "Refactor the auth middleware"
    page.wait_for_selector("li.entry.provisional")
    assert page.locator("#banner").evaluate(IN_VIEW), "a live task opens at its newest message, the banner in view"
    readme_screenshot(page, "viewer-live")  # a demo task, as a reader of docs/viewer.md can open it


def test_viewer_slash_a_task_name_opens_that_task(page, stack) -> None:
    answer = httpx.get(f"{stack.url}/viewer/refactor-auth")
    assert (answer.status_code, answer.headers["location"]) == (302, "/viewer#/tasks/refactor-auth")
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    page.goto(f"{stack.url}/viewer/add-billing-page")
    page.wait_for_selector("#banner >> text=Paused")
    assert page.locator("main h1").text_content() == "add-billing-page"


def test_the_page_is_served_with_a_policy_allowing_only_its_own_scripts(stack) -> None:
    answer = httpx.get(f"{stack.url}/viewer")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert '<script src="/viewer/app.js"' in answer.text and "<script>" not in answer.text
    assert httpx.get(f"{stack.url}/viewer/secrets.txt").json() == {"message": "Resource not found."}
    config = httpx.get(f"{stack.url}/viewer/config.json").json()
    assert config["authorization_endpoint"] == "/_devstack/idp/authorize" and "secret" not in str(config)


def test_a_paused_task_shows_its_banner_its_sessions_and_its_gap(page, stack) -> None:
    open_task(page, stack, "port-rate-limiter")
    taken = stack.api("/api/v2/tasks/me/port-rate-limiter/logs").json()["snapshot_at"]
    page.wait_for_selector("#banner >> text=Paused — snapshot from")  # the snapshot's time comes second
    banner = page.locator("#banner")
    assert banner.text_content().startswith("Paused — snapshot from ")
    assert page.evaluate(f"new Date({taken!r}).toLocaleString()") in banner.text_content()
    assert page.locator(".badge").first.text_content() == "paused"
    assert page.locator("li.gap").all_text_contents() == ["3 earlier messages were not captured"]
    assert page.locator("li.session").all_text_contents() == ["Session 2"]
    shown = page.locator("li.entry .content").all_text_contents()
    stored = [e["content"] for e in stack.api("/api/v2/tasks/me/port-rate-limiter/transcript").json()["entries"]]
    assert shown == stored
    assert page.locator("li.entry.input").count() and page.locator("li.entry.output pre").count()
    # It opens at the top: the banner and the gap, where the stored conversation starts, in view.
    assert page.locator("#banner").evaluate(IN_VIEW) and page.locator("li.gap").evaluate(IN_VIEW)
    readme_screenshot(page, "viewer-paused")
    assert page.problems == []


def test_a_crashed_task_says_until_when_its_history_was_kept(page, stack) -> None:
    """nightly-migration's workspace crashed mid-run: what the checkpoints stored, then the note (§11)."""
    open_task(page, stack, "nightly-migration")
    page.wait_for_selector("li.gap")
    body = stack.api("/api/v2/tasks/me/nightly-migration/transcript").json()
    until = page.evaluate(
        f"new Date({body['snapshot_at']!r}).toLocaleTimeString([], {{hour: '2-digit', minute: '2-digit'}})"
    )
    assert page.locator("li.gap").all_text_contents() == [
        f"history kept until {until}; the workspace stopped answering"
    ]
    assert page.locator("li.entry .content").all_text_contents() == [e["content"] for e in body["entries"]]
    assert page.problems == []


def test_a_secret_the_agent_printed_is_marked_where_it_was_and_the_entry_says_what_was_removed(page, stack) -> None:
    open_task(page, stack, "leaky-env")
    page.wait_for_selector("mark.redacted")
    entry = page.locator("li.entry").last
    assert entry.locator(".redacted-note").text_content() == "2 secrets removed (env-secret, url-password)"
    assert entry.locator("mark.redacted").all_text_contents() == ["[REDACTED:env-secret]", "[REDACTED:url-password]"]
    served = stack.api("/api/v2/tasks/me/leaky-env/transcript").json()["entries"][-1]["content"]
    assert entry.locator(".content").text_content() == served, "the text around the markers is the agent's"
    assert "vN3qLx8rTz2KpW7s" not in page.content()
    assert page.problems == []


def test_a_live_task_grows_while_the_reader_watches(page, stack) -> None:
    task = stack.new_task("Add rate limiting", "Reading the handlers.", prefix="rate-limits")
    open_task(page, stack, task["name"])
    assert page.locator("#banner").text_content() == "Live"
    assert page.locator("li.entry.provisional .content").text_content() == "Reading the handlers."
    stack.say(task, "Use a token bucket")
    page.wait_for_selector("li.entry.provisional >> text=Working on: Use a token bucket", timeout=15000)
    assert page.locator("li.entry .content").all_text_contents()[-2:] == [
        "Use a token bucket",
        "Working on: Use a token bucket",
    ]
    assert page.locator("li.entry.provisional").count() == 1, "the message still being written is shown once"
    stack.pause(task)
    page.wait_for_selector("#banner >> text=Paused — snapshot from", timeout=15000)
    assert page.locator("li.entry.provisional").count() == 0
    assert page.problems == []


def test_older_pages_load_when_the_reader_scrolls_up(page, stack) -> None:
    task = stack.new_task()
    messages = [
        {"id": i, "role": "agent" if i % 2 == 0 else "user", "content": f"message {i}", "time": "2026-11-25T10:00:00Z"}
        for i in range(250)
    ]
    answer = httpx.post(
        f"{stack.url}/api/v2/workspaceagents/me/tasks/{task['task_id']}/log-snapshot?format=agentapi",
        json={"messages": messages},
        headers={"Coder-Session-Token": f"agent-token-{task['name']}"},
    )
    assert answer.status_code == 204
    stack.fake.scenarios[task["name"]].messages = messages
    stack.pause(task)
    open_task(page, stack, task["name"])
    assert page.locator("li.entry").count() == 100
    for _ in range(10):
        page.mouse.wheel(0, -100000)
        page.wait_for_timeout(300)
        if page.locator("li.entry").count() == 250:
            break
    assert page.locator("li.entry .content").all_text_contents() == [f"message {i}" for i in range(250)]
    assert page.locator("#older").count() == 0, "nothing older is left to load"


def test_an_unknown_task_says_not_found(page, stack) -> None:
    page.goto(f"{stack.url}/viewer#/tasks/no-such-task")
    page.wait_for_selector("main h1 >> text=Task not found")
    page.goto(f"{stack.url}/viewer#/tasks/bobs-task")
    page.wait_for_selector("main h1 >> text=Task not found")


def test_troubled_tasks_say_so(page, stack) -> None:
    open_task(page, stack, "flaky-build")
    assert page.locator("#banner").text_content() == 'This task is in state "error": showing its stored conversation.'
    open_task(page, stack, "agent-down")
    page.wait_for_selector("#agent-error:not([hidden])")
    # Active, but not live: no green "Live" above the agent's failure.
    assert page.locator("#banner").text_content() == "Active, but its agent is not answering"
    assert "live" not in page.locator("#banner").get_attribute("class")
    assert (
        page.locator("#agent-error")
        .text_content()
        .startswith("The agent did not answer: Failed to get messages from task app.")
    )


def test_going_offline_is_said_and_recovered_from(page, stack) -> None:
    open_task(page, stack, "refactor-auth")
    page.context.set_offline(True)
    page.wait_for_selector("#notice >> text=Offline: retrying", timeout=15000)
    page.context.set_offline(False)
    page.wait_for_selector("#notice", state="hidden", timeout=20000)


def test_message_content_is_only_ever_text(page, stack) -> None:
    hostile = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"><b>bold?</b>'
    task = stack.new_task(hostile, hostile)
    stack.pause(task)
    open_task(page, stack, task["name"])
    contents = page.locator("li.entry .content").all_text_contents()
    assert contents[1:] == [hostile, hostile]
    assert page.evaluate("window.__xss") is None
    assert page.locator("main img, main script, main b").count() == 0
    assert page.problems == []


def test_the_viewer_works_from_the_keyboard(page, stack) -> None:
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "add-billing-page":
            break
    page.keyboard.press("Enter")
    page.wait_for_selector("#banner >> text=Paused")
    assert page.url.endswith("#/tasks/7a5c0000-0000-4000-8000-000000000002")


def test_sign_out_forgets_the_token_and_revokes_the_refresh_token(page, stack) -> None:
    refresh = page.evaluate("sessionStorage.getItem('tasklogs.refresh')")
    assert refresh, "the provider gave a refresh token"
    trade = {"grant_type": "refresh_token", "client_id": "tasklogs", "refresh_token": refresh}
    assert httpx.post(f"{stack.url}/_devstack/idp/token", data=trade).status_code == 200
    page.click("#sign-out")
    page.wait_for_selector("main h1 >> text=Signed out")
    assert page.evaluate("[sessionStorage.getItem('tasklogs.token'), sessionStorage.getItem('tasklogs.refresh')]") == [
        None,
        None,
    ]
    refused = httpx.post(f"{stack.url}/_devstack/idp/token", data=trade)
    assert (refused.status_code, refused.json()) == (400, {"error": "invalid_grant"}), "revoked at the provider"
    page.reload()
    page.wait_for_selector("main h1 >> text=Signed out")  # no silent sign-in after signing out
    page.click("main button >> text=Sign in")
    page.wait_for_selector("ul.tasks li")


@pytest.fixture
def short_tokens(stack):
    """The local provider's tokens last 3 s while this test signs in and reads."""
    stack.front.sign_in.token_lifetime_seconds = 3
    yield
    stack.front.sign_in.token_lifetime_seconds = TOKEN_LIFETIME_SECONDS


def test_a_reader_following_a_task_stays_signed_in_past_the_token_s_lifetime(short_tokens, page, stack) -> None:
    grants = []
    page.on("request", lambda r: "/_devstack/idp/token" in r.url and grants.append(parse_qs(r.post_data)["grant_type"]))
    first_token = page.evaluate("sessionStorage.getItem('tasklogs.token')")
    task = stack.new_task("Tidy the imports", "Tidying.", prefix="tidy")
    open_task(page, stack, task["name"])
    page.wait_for_timeout(4500)  # the token has expired: the next poll is refused, the viewer refreshes it
    stack.say(task, "Then run the linter")
    page.wait_for_selector("li.entry.provisional >> text=Working on: Then run the linter", timeout=15000)
    assert grants and all(grant == ["refresh_token"] for grant in grants)
    assert page.evaluate("sessionStorage.getItem('tasklogs.token')") != first_token
    assert page.locator("text=Your sign-in has expired").count() == 0
    assert page.problems == []


def test_a_refused_refresh_asks_the_reader_to_sign_in_again(short_tokens, page, stack) -> None:
    page.evaluate("sessionStorage.setItem('tasklogs.refresh', 'revoked-by-the-provider')")
    open_task(page, stack, "add-billing-page")
    page.wait_for_selector("text=Your sign-in has expired", timeout=15000)
    assert page.evaluate("[sessionStorage.getItem('tasklogs.token'), sessionStorage.getItem('tasklogs.refresh')]") == [
        None,
        None,
    ]
    page.click("main button >> text=Sign in")
    page.wait_for_selector("#banner >> text=Paused")  # back where the reader was
    assert page.evaluate("sessionStorage.getItem('tasklogs.refresh')"), "a new sign-in, a new refresh token"


def test_following_asks_with_the_etag_and_nothing_while_the_tab_is_hidden(page, stack) -> None:
    answers = []
    page.on(
        "response",
        lambda r: "/transcript?" in r.url and answers.append((r.status, r.request.headers.get("if-none-match"))),
    )
    open_task(page, stack, "add-billing-page")
    page.wait_for_timeout(6500)  # three polls at 2 s
    assert answers[:2] == [(200, None), (200, None)], "the newest page, then the first `after` poll"
    polls = answers[2:]
    assert len(polls) >= 2 and all(status == 304 and etag.startswith('W/"') for status, etag in polls)
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: true, configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    hidden_from = len(answers)
    page.wait_for_timeout(4500)
    assert len(answers) == hidden_from, "a hidden tab asks nothing"
    page.evaluate(
        "Object.defineProperty(document, 'hidden', {value: false, configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    page.wait_for_timeout(1000)
    assert len(answers) > hidden_from, "and asks at once when it is shown again"


def test_dark_follows_the_system(browser, stack) -> None:
    context = browser.new_context(color_scheme="dark")
    tab = context.new_page()
    try:
        tab.goto(f"{stack.url}/viewer")
        tab.wait_for_selector("ul.tasks li")
        background = tab.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 17, 23)"
    finally:
        context.close()
