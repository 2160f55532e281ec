"""python -m infra.local up|down|status|logs|env|sibling-env|node|demo"""

from __future__ import annotations

import argparse
import shlex
import sys

from infra.local import procs, stack
from infra.local.endpoints import Endpoints
from infra.local.errors import StackError
from infra.local.settings import ENGINES, StackSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local",
                                     description="The t4-search local stack.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="fetch what is missing, start every service, wait until healthy")
    sub.add_parser("down", help="stop the processes that `up` started")
    sub.add_parser("status", help="what runs where")
    logs = sub.add_parser("logs", help="the last lines of a service's log")
    logs.add_argument("service", help=f"{', '.join(stack.ORDER)}, or a node of a "
                      "multi-node cluster (es-2, os-2, ...)")
    logs.add_argument("-n", "--lines", type=int, default=40)
    sub.add_parser("env", help="shell exports that point programs at the stack")
    sibling = sub.add_parser("sibling-env", help="T4_STACK_* exports of a second stack running "
                             "ENGINE beside this one (own home, ports +100): `./dev test`")
    sibling.add_argument("engine", choices=ENGINES)
    node = sub.add_parser("node", help="stop, kill (SIGKILL) or start one node of a "
                                       "multi-node cluster (T4_STACK_NODES)")
    node.add_argument("action", choices=("stop", "kill", "start"))
    node.add_argument("name", help="es-1, es-2, ... (os-1, os-2, ... on OpenSearch)")
    demo = sub.add_parser("demo", help="index sample files through the pipeline and search them")
    demo.add_argument("--bucket", default="t4-demo")
    args = parser.parse_args(argv)

    try:
        settings = StackSettings.from_env()
        if args.command == "up":
            stack.up(settings)
            print(f"stack is up; state in {settings.home}")
        elif args.command == "down":
            stack.down(settings)
        elif args.command == "status":
            rows = stack.status(settings)
            for row in rows:
                state = "healthy" if row.healthy else ("unhealthy" if row.pid else "stopped")
                print(f"{row.name:<14} {state:<19} pid={row.pid or '-':<8} {row.where}")
            print(f"logs in {settings.log_dir}; credentials in {settings.credentials_file}")
            return 0 if all(r.healthy for r in rows) else 3
        elif args.command == "logs":
            print(procs.tail(stack.log_path(settings, args.service), args.lines))
        elif args.command == "node":
            stack.node(settings, args.action, args.name)
        elif args.command == "env":
            from infra.local.services import search_api_callers

            exports = dict(Endpoints.resolve(settings).es_env())
            if settings.state_dir.joinpath("search-api-credentials.json").exists():
                (key_id, caller), = search_api_callers(settings).items()
                exports.update(T4_SEARCH_API_URL=settings.search_api_url,
                               AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=caller["secret"])
            for key, value in exports.items():
                print(f"export {key}={shlex.quote(value)}")
        elif args.command == "sibling-env":
            for key, value in settings.sibling_env(args.engine).items():
                print(f"export {key}={shlex.quote(value)}")
        elif args.command == "demo":
            from infra.local import demo as demo_mod
            return demo_mod.run(settings, bucket=args.bucket)
    except StackError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
