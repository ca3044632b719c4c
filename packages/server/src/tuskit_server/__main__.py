"""``python -m tuskit_server --dir DIR [--host H] [--port P] [--workers N]``: a server for
manual use and the benchmark."""

import argparse
import logging
from pathlib import Path

from tuskit_server._app import serve


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m tuskit_server", description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("uploads"), help="upload directory")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=1080, help="port to bind (1080)")
    parser.add_argument("--upload-url", default="/uploads", help="creation URL (/uploads)")
    parser.add_argument("--max-size", type=int, default=None, help="largest upload in bytes")
    parser.add_argument("--behind-proxy", action="store_true", help="trust X-Forwarded-*")
    parser.add_argument(
        "--splice-min",
        type=int,
        default=1024 * 1024,
        help="bodies with this many bytes unread are moved by the kernel; 0: never (1 MiB)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes sharing the port (1)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each upload")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    status = serve(
        workers=args.workers,
        host=args.host,
        port=args.port,
        upload_path=args.dir,
        upload_url=args.upload_url,
        max_size=args.max_size,
        behind_proxy=args.behind_proxy,
        splice_min=args.splice_min or None,
    )
    raise SystemExit(status)


if __name__ == "__main__":
    main()
