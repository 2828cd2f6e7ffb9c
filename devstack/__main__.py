"""python -m devstack [run|token|events]: the local stack and its helpers (docs/local-stack.md)."""

import argparse
import faulthandler
import os
import signal
import sys
import threading
import uuid
from pathlib import Path


def run(port: int, aws_port: int = 0) -> None:
    from devstack.demo.catalogue import (
        ALICE,
        TASKS,
        demo_requests,
        seed,
        story_requests,
        task_route_requests,
        transcript_requests,
    )
    from devstack.demo.control import DemoControl
    from devstack.demo.fake_agentapi import FakeAgentAPI
    from devstack.runtime import lambda_runtime
    from devstack.runtime.aws import start_local_aws
    from devstack.runtime.containers import LocalLambda
    from devstack.runtime.front import LocalApiGateway
    from devstack.runtime.local_idp import LocalSignIn
    from devstack.runtime.streams import StreamPoller

    lambda_runtime.ensure_layer_on_path()  # the control routes and the stream poller read task items with it
    aws = start_local_aws(port=aws_port)
    fake = FakeAgentAPI().start()
    runtime = LocalLambda()  # the functions' containers, for the API and the streams alike
    poller = None
    try:
        seed(aws, fake)
        lambda_runtime.set_local_environment(aws.environment())
        poller = StreamPoller(aws, runtime.invoke).start()
        front = LocalApiGateway(
            port=port, control=DemoControl(aws, poller, fake), runtime=runtime, sign_in=LocalSignIn(ALICE.claims)
        ).start()
    except BaseException:
        if poller:
            poller.stop()
        runtime.stop()
        fake.stop()
        aws.stop()
        raise

    print(f"\ntasklogs local stack is up: API {front.url}  (moto {aws.endpoint_url}, fake AgentAPI {fake.url})")
    print(f"{len(TASKS)} demo tasks for alice and bob. Try these (alice's token is inline):\n")
    for name, (path, caller, expect) in demo_requests().items():
        auth = f'-H "Authorization: Bearer {caller.token}" ' if caller else ""
        print(f"# {expect}  [events/{name}.json]")
        print(f"curl -s {auth}{front.url}{path}\n")
    print("# ---- Coder's CLI and VS Code extension: the task routes, the token in Coder-Session-Token:\n")
    _print_session_token_curls(front.url, task_route_requests())
    print("# ---- Transcripts: the whole conversation across pauses, a page at a time (contract §7):\n")
    _print_session_token_curls(front.url, transcript_requests())
    print(f"# ---- The web viewer: open {front.url}/viewer in a browser (the local stack signs you in as alice)\n")
    print("# ---- The tasklogs CLI (docs/cli.md), in another shell:\n")
    tasklogs = Path(sys.executable).parent / "tasklogs"
    print(f"export TASKLOGS_URL={front.url} TASKLOGS_TOKEN={ALICE.token}")
    for args in ("tasks", "logs port-rate-limiter", "logs add-billing-page --tail 2 -o table", "logs refactor-auth -f"):
        print(f"{tasklogs} {args}")
    print()
    print("# ---- The pause/resume story, in this order (each /_devstack call plays the control plane):\n")
    for name, (command, expect) in story_requests(front.url).items():
        print(f"# {expect}  [story/{name}]")
        print(f"{command}\n")
    print(f"A token for another user: {sys.executable} -m devstack token <username>")
    print(f"alice's token: {ALICE.token}")
    print("Ctrl-C stops everything.", flush=True)

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
        front.stop()
        poller.stop()
        runtime.stop()
        fake.stop()
        aws.stop()
        print("\nstopped", flush=True)


def _print_session_token_curls(base_url: str, requests: dict) -> None:
    """One curl per event (name → path, raw query, caller, what it answers), the token in
    Coder-Session-Token as Coder's clients send it."""
    for name, (path, query, caller, expect) in requests.items():
        auth = f'-H "Coder-Session-Token: {caller.token}" ' if caller else ""
        url = f"{base_url}{path}" + (f"?{query}" if query else "")
        print(f"# {expect}  [events/{name}.json]")
        print(f'curl -s {auth}"{url}"\n')


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
    token_cmd = commands.add_parser("token", help="print a local JWT for a user")
    token_cmd.add_argument("username")
    token_cmd.add_argument("--sub", help="user id (default: alice's or bob's demo id, else a new UUID)")
    commands.add_parser("events", help="rewrite events/*.json from the demo catalogue")
    commands.add_parser("openapi", help="rewrite docs/openapi.json from the code")
    args = parser.parse_args()

    if args.command == "token":
        from devstack.demo.catalogue import ALICE, BOB
        from devstack.runtime.local_idp import mint

        known = {user.username: user.user_id for user in (ALICE, BOB)}
        sub = args.sub or known.get(args.username) or str(uuid.uuid4())
        print(mint({"sub": sub, "username": args.username}))
    elif args.command == "events":
        from devstack.demo.catalogue import demo_events
        from devstack.generators.events import write_events

        for path in write_events(demo_events()):
            print(path)
    elif args.command == "openapi":
        from devstack.generators.openapi import write

        print(write())
    else:
        run(
            getattr(args, "port", int(os.environ.get("TASKLOGS_PORT", "3000"))),
            getattr(args, "aws_port", int(os.environ.get("TASKLOGS_AWS_PORT", "0"))),
        )


if __name__ == "__main__":
    main()
