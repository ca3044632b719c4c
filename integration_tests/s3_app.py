"""A tus server on an S3Store, for the integration tests: ``python integration_tests/s3_app.py
--port P --endpoint-url URL --bucket B``. Credentials come from the AWS environment variables.

It is setup_tus with its defaults and ``store=S3Store(...)``, run until SIGTERM; ``tus serve``
learns ``--store s3://bucket/prefix`` elsewhere, and these tests then need only that.
"""

import argparse

from aiohttp import web

from tuskit_server import setup_tus
from tuskit_server.stores.s3 import S3Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--max-size", type=int, default=None)
    parser.add_argument("--attempts", type=int, default=3, help="botocore attempts per call")
    args = parser.parse_args()
    store = S3Store(
        args.bucket,
        args.prefix,
        endpoint_url=args.endpoint_url,
        region="us-east-1",
        attempts=args.attempts,
    )
    app = web.Application()
    setup_tus(app, store=store, upload_url="/uploads", max_size=args.max_size)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
