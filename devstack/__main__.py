"""python -m devstack [run|token|events]: the local stack and its helpers (see README)."""

import argparse
import faulthandler
import os
import signal
import sys
import threading
import uuid


def _environment(aws_env: dict[str, str]) -> None:
    os.environ.update(aws_env)
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "tasklogs")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # EMF lines would drown the logs
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "INFO")


def run(port: int) -> None:
    from devstack.aws import start_local_aws
    from devstack.containers import LocalLambda
    from devstack.control import DemoControl
    from devstack.demo import ALICE, TASKS, demo_requests, seed, story_requests
    from devstack.fake_agentapi import FakeAgentAPI
    from devstack.front import LocalApiGateway
    from devstack.streams import StreamPoller

    aws = start_local_aws()
    fake = FakeAgentAPI().start()
    runtime = LocalLambda()  # the functions' containers, for the API and the streams alike
    poller = None
    try:
        seed(aws, fake)
        _environment(aws.environment())
        poller = StreamPoller(aws, runtime.invoke).start()
        front = LocalApiGateway(port=port, control=DemoControl(aws, poller), runtime=runtime).start()
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


def load(requests: int, concurrency: int) -> None:
    """The local stack on a free port, then the load; its own process, so the figures are its own."""
    import contextlib
    import io
    import logging

    from devstack.aws import start_local_aws
    from devstack.demo import seed
    from devstack.fake_agentapi import FakeAgentAPI
    from devstack.front import LocalApiGateway
    from devstack.load import run_load

    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # one INFO line per request would be the bottleneck
    aws, fake = start_local_aws(), FakeAgentAPI().start()
    try:
        seed(aws, fake)
        _environment(aws.environment())
        logging.getLogger("devstack").setLevel(logging.WARNING)
        front = LocalApiGateway(port=0).start()
        # Cold starts are not what this measures: as many warm containers as the load can use.
        front.runtime.prewarm("TaskLogsFunction", concurrency)
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools' buffered metric lines
            baseline = run_load(front.url, min(requests, 200), 1)
            result = run_load(front.url, requests, concurrency)
        containers = front.runtime.containers("TaskLogsFunction")
        print("baseline, one request at a time (the service time):\n" + baseline.summary())
        print(f"load ({containers} warm containers, at most {front.runtime.max_per_function}; "
              "TASKLOGS_LOCAL_CONCURRENCY sets the limit):")
        print(result.summary(), flush=True)
        front.stop()
    finally:
        fake.stop()
        aws.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    run_cmd = commands.add_parser("run", help="start the local stack (the default)")
    run_cmd.add_argument("--port", type=int, default=int(os.environ.get("TASKLOGS_PORT", "3000")))
    token_cmd = commands.add_parser("token", help="print a local JWT for a user")
    token_cmd.add_argument("username")
    token_cmd.add_argument("--sub", help="user id (default: alice's or bob's demo id, else a new UUID)")
    commands.add_parser("events", help="rewrite events/*.json from the demo catalogue")
    commands.add_parser("openapi", help="rewrite docs/openapi.json from the code")
    load_cmd = commands.add_parser("load", help="a bounded loopback load test of a fresh local stack")
    load_cmd.add_argument("--requests", type=int, default=5000)
    load_cmd.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    if args.command == "token":
        from devstack.demo import ALICE, BOB
        from devstack.local_jwt import mint

        known = {user.username: user.user_id for user in (ALICE, BOB)}
        sub = args.sub or known.get(args.username) or str(uuid.uuid4())
        print(mint({"sub": sub, "username": args.username}))
    elif args.command == "events":
        from devstack.demo import demo_events
        from devstack.events import write_events

        for path in write_events(demo_events()):
            print(path)
    elif args.command == "load":
        load(args.requests, args.concurrency)
    elif args.command == "openapi":
        from devstack.openapi import write

        print(write())
    else:
        run(getattr(args, "port", int(os.environ.get("TASKLOGS_PORT", "3000"))))


if __name__ == "__main__":
    main()
