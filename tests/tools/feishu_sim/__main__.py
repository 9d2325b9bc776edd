"""`python -m tests.tools.feishu_sim [--host 127.0.0.1] [--port 0] [--seed FILE] ...`"""

from __future__ import annotations

import argparse
import socket
import sys

import uvicorn

from tests.tools.feishu_sim.app import create_app
from tests.tools.feishu_sim.state import State, load_seed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.tools.feishu_sim")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--seed", help="JSON or YAML: app_id, users, departments, approvals")
    parser.add_argument("--app-id")
    parser.add_argument("--app-secret")
    parser.add_argument(
        "--retry-scale",
        type=float,
        default=1.0,
        help="multiply the push retry intervals (15 s, 5 min, 1 h, 6 h)",
    )
    parser.add_argument("--push-timeout", type=float, default=3.0)
    parser.add_argument("--token-ttl", type=int, default=7200)
    parser.add_argument(
        "--generate-org", metavar="USERS,DEPTS", help="add a synthetic org, e.g. 2000,200"
    )
    args = parser.parse_args(argv)
    state = State(push_timeout=args.push_timeout, token_ttl=args.token_ttl)
    state.retry_intervals = tuple(s * args.retry_scale for s in state.retry_intervals)
    state.seed(load_seed(args.seed))
    if args.app_id:
        state.app_id = args.app_id
    if args.app_secret:
        state.app_secret = args.app_secret
    if args.generate_org:
        users, depts = (int(x) for x in args.generate_org.split(","))
        state.generate_org(users, depts)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((args.host, args.port))
    port = sock.getsockname()[1]
    print(f"FEISHU_SIM_URL=http://{args.host}:{port}", flush=True)
    config = uvicorn.Config(create_app(state), log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])
    sys.exit(0)


if __name__ == "__main__":
    main()
