"""python -m devstack [run|token|examples|events|openapi]: the local stack and its helpers (docs/local-stack.md)."""

import argparse
import faulthandler
import os
import signal
import sys
import threading
import uuid
from pathlib import Path


def run(
    port: int,
    aws_port: int = 0,
    function_log: Path | None = None,
    talk_every: float = 5.0,
    checkpoint_every: float = 10.0,
) -> None:
    """`function_log`: where the functions' log lines go (errors reach the console too); None: the console."""
    from devstack.demo.catalogue import ALICE, TASKS, seed
    from devstack.demo.control import DemoControl
    from devstack.demo.fake_agentapi import FakeAgentAPI
    from devstack.demo.live_agent import LiveAgent
    from devstack.runtime import lambda_runtime
    from devstack.runtime.aws import start_local_aws
    from devstack.runtime.containers import FUNCTION_LOG_VARIABLE, LocalLambda
    from devstack.runtime.front import LocalApiGateway
    from devstack.runtime.local_idp import LocalSignIn
    from devstack.runtime.schedules import LocalSchedules
    from devstack.runtime.streams import StreamPoller

    lambda_runtime.ensure_layer_on_path()  # the control routes and the stream poller read task items with it
    if function_log is not None:
        function_log.parent.mkdir(parents=True, exist_ok=True)
        function_log.write_text("")  # each run's own lines
        os.environ[FUNCTION_LOG_VARIABLE] = str(function_log)  # the containers, spawned later, read it
    aws = start_local_aws(port=aws_port)
    fake = FakeAgentAPI().start()
    runtime = LocalLambda()  # the functions' containers, for the API and the streams alike
    poller = schedules = None
    try:
        seed(aws, fake)
        # The checkpoint interval the functions see is the local schedule's (at most a minute, as on
        # AWS); with no schedule (0), AWS's default: runs asked for by hand are not dropped as stale.
        every = round(checkpoint_every) if checkpoint_every >= 1 else 60
        interval = {"CHECKPOINT_INTERVAL_SECONDS": str(every)}
        lambda_runtime.set_local_environment({**aws.environment(), **interval})
        poller = StreamPoller(aws, runtime.invoke).start()
        schedules = LocalSchedules(aws, runtime.invoke, every_seconds=min(checkpoint_every, 60) or 60)
        if checkpoint_every > 0:
            schedules.start()
        control = DemoControl(aws, poller, fake, schedules)
        front = LocalApiGateway(port=port, control=control, runtime=runtime, sign_in=LocalSignIn(ALICE.claims)).start()
    except BaseException:
        if schedules:
            schedules.stop()
        if poller:
            poller.stop()
        runtime.stop()
        fake.stop()
        aws.stop()
        raise

    live = LiveAgent(fake, talk_every).start() if talk_every > 0 else None
    print_welcome(front.url, aws.endpoint_url, fake.url, len(TASKS), function_log)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Set explicitly: a shell that starts a job in the background makes it ignore SIGINT, and Python
    # then installs no KeyboardInterrupt handler (so Ctrl-C, or CI's SIGINT, would do nothing).
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints what every thread is doing
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if live:
            live.stop()
        front.stop()
        schedules.stop()
        poller.stop()
        runtime.stop()
        fake.stop()
        aws.stop()
        print("\nstopped", flush=True)


def print_welcome(url: str, moto_url: str, agent_url: str, tasks: int, function_log: Path | None = None) -> None:
    """One screen: where everything is, three examples, and how to print every other (`examples`)."""
    python = _shell_path(Path(sys.executable))
    print(f"\ntasklogs local stack is up: API {url}  (moto {moto_url}, fake AgentAPI {agent_url})")
    print(f"{tasks} demo tasks for alice and bob; refactor-auth's agent keeps working. The viewer: {url}/viewer")
    if function_log is not None:
        print(f"Function logs: {_shell_path(function_log)} (errors show here too; --verbose prints every line)")
    print()
    print("In another shell:\n")
    print(f"TOKEN=$({python} -m devstack token alice)")
    for path, note in (
        ("/api/v2/tasks/me/refactor-auth/logs", "active: live from the agent"),
        ("/api/v2/tasks/me/add-billing-page/logs", "paused: from its snapshot"),
        ("/api/v2/tasks/me/port-rate-limiter/transcript", "two sessions and a gap"),
    ):
        print(f'curl -s -H "Authorization: Bearer $TOKEN" {url}{path}   # {note}')
    tasklogs = _shell_path(Path(sys.executable).parent / "tasklogs")
    print(f"TASKLOGS_URL={url} TASKLOGS_TOKEN=$TOKEN {tasklogs} logs port-rate-limiter")
    print(f"\nEvery example (each case of the API, the CLI, the pause/resume story): {python} -m devstack examples")
    if not url.endswith(":3000"):
        print(f"  here: {python} -m devstack examples --url {url}")
    print("Ctrl-C stops everything.", flush=True)


def print_examples(url: str) -> None:
    """Every example, commented with what it answers and the event it matches; alice's token in
    $TOKEN, which the first line sets."""
    from devstack.demo.catalogue import (
        ALICE,
        TOKEN_VARIABLE,
        demo_requests,
        story_requests,
        task_route_requests,
        transcript_requests,
    )

    def token(caller) -> str:  # noqa: ANN001 - a DemoUser
        return TOKEN_VARIABLE if caller == ALICE else caller.token

    python = _shell_path(Path(sys.executable))
    print(f"TOKEN=$({python} -m devstack token alice)\n")
    print("# ---- Coder's task logs, each case, the token in Authorization:\n")
    for name, (path, caller, expect) in demo_requests().items():
        auth = f'-H "Authorization: Bearer {token(caller)}" ' if caller else ""
        print(f"# {expect}  [events/{name}.json]")
        print(f"curl -s {auth}{url}{path}\n")
    for title, requests in (
        ("Coder's CLI and VS Code extension: the task routes, the token in Coder-Session-Token", task_route_requests()),
        ("Transcripts: the whole conversation across pauses, a page at a time", transcript_requests()),
    ):
        print(f"# ---- {title}:\n")
        for name, (path, query, caller, expect) in requests.items():
            auth = f'-H "Coder-Session-Token: {token(caller)}" ' if caller else ""
            print(f"# {expect}  [events/{name}.json]")
            print(f'curl -s {auth}"{url}{path}' + (f"?{query}" if query else "") + '"\n')
    print(f"# ---- The web viewer: open {url}/viewer in a browser (the local stack signs you in as alice)\n")
    print("# ---- The tasklogs CLI (docs/cli.md):\n")
    print(f"export TASKLOGS_URL={url} TASKLOGS_TOKEN={TOKEN_VARIABLE}")
    tasklogs = _shell_path(Path(sys.executable).parent / "tasklogs")
    for args in ("tasks", "logs port-rate-limiter", "logs add-billing-page --tail 2 -o table", "logs refactor-auth -f"):
        print(f"{tasklogs} {args}")
    print()
    print("# ---- The pause/resume story, in this order (each /_devstack call plays the control plane):\n")
    for name, (command, expect) in story_requests(url).items():
        print(f"# {expect}  [story/{name}]")
        print(f"{command}\n")
    print(f"# A token for another user: {python} -m devstack token <username>", flush=True)


def _shell_path(path: Path) -> str:
    """A path as a person types it: relative to the working directory when under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    run_cmd = commands.add_parser("run", help="start the local stack (the default)")
    run_cmd.add_argument("--port", type=int, default=int(os.environ.get("TASKLOGS_PORT", "3000")))
    run_cmd.add_argument(
        "--aws-port",
        type=int,
        default=int(os.environ.get("TASKLOGS_AWS_PORT", "0")),
        help="moto's port (default: any free one); `sam local invoke` with events/sam-local-env.json wants 5000",
    )
    run_cmd.add_argument(
        "--verbose",
        action="store_true",
        default=os.environ.get("TASKLOGS_VERBOSE", "") not in ("", "0"),
        help="print every function log line (default: errors only, all of them in --log-file)",
    )
    run_cmd.add_argument("--log-file", type=Path, default=Path(".devstack/functions.log"), help="%(default)s")
    run_cmd.add_argument(
        "--talk-every",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often refactor-auth's agent adds a message (0: never; default %(default)s)",
    )
    run_cmd.add_argument(
        "--checkpoint-every",
        type=float,
        default=float(os.environ.get("TASKLOGS_CHECKPOINT_EVERY", "10")),
        metavar="SECONDS",
        help="how often the checkpoint schedule runs (0: only on POST /_devstack/checkpoints; default %(default)s)",
    )
    token_cmd = commands.add_parser("token", help="print a local JWT for a user")
    token_cmd.add_argument("username")
    token_cmd.add_argument("--sub", help="user id (default: alice's or bob's demo id, else a new UUID)")
    examples_cmd = commands.add_parser("examples", help="print every example command for a running local stack")
    examples_cmd.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('TASKLOGS_PORT', '3000')}")
    commands.add_parser("events", help="rewrite events/*.json from the demo catalogue")
    commands.add_parser("openapi", help="rewrite docs/openapi.json and docs/api.md's tables from the code")
    args = parser.parse_args()

    if args.command == "token":
        from devstack.demo.catalogue import ALICE, BOB
        from devstack.runtime.local_idp import mint

        known = {user.username: user.user_id for user in (ALICE, BOB)}
        sub = args.sub or known.get(args.username) or str(uuid.uuid4())
        print(mint({"sub": sub, "username": args.username}))
    elif args.command == "examples":
        try:
            print_examples(args.url.rstrip("/"))
        except BrokenPipeError:  # `... examples | head`: the reader has what it wanted
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    elif args.command == "events":
        from devstack.demo.catalogue import demo_events
        from devstack.generators.events import write_events

        for path in write_events(demo_events()):
            print(path)
    elif args.command == "openapi":
        from devstack.generators import api_reference, openapi

        print(openapi.write())
        print(api_reference.write())
    else:
        if args.command is None:  # `python -m devstack`: run with run's defaults
            args = parser.parse_args(["run"])
        log_file = None if args.verbose else args.log_file.resolve()
        run(args.port, args.aws_port, log_file, args.talk_every, args.checkpoint_every)


if __name__ == "__main__":
    main()
