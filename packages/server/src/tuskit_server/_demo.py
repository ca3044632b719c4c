"""``tus serve --demo``: a browser page at ``/`` that uploads with the tus protocol.

The page and its small hand-written tus client (``static/``) ship in the wheel; both are
read once when the app is built and answered from memory.
"""

import html
from importlib import resources

from aiohttp import web

__all__ = ["PAGE_PATH", "SCRIPT_PATH", "add_demo_routes"]

PAGE_PATH = "/"
SCRIPT_PATH = "/demo/tus-demo.js"
#: Only this page's own script and styles run (the styles are inline).
_POLICY = "default-src 'self'; style-src 'self' 'unsafe-inline'"


def _static(name: str) -> str:
    return resources.files("tuskit_server").joinpath("static", name).read_text("utf-8")


def add_demo_routes(app: web.Application, upload_url: str) -> None:
    """Serve the page (uploading to ``upload_url``) and its script.

    Raises:
        ValueError: ``upload_url`` is ``/`` itself, where the page would be.
    """
    if upload_url.rstrip("/") == "":
        raise ValueError("the demo page is served at /: it needs an upload URL other than /")
    page = _static("demo.html").replace("{{ENDPOINT}}", html.escape(upload_url))
    script = _static("tus-demo.js")
    headers = {"Content-Security-Policy": _POLICY, "Cache-Control": "no-cache"}

    async def show_page(_: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html", headers=headers)

    async def show_script(_: web.Request) -> web.Response:
        return web.Response(text=script, content_type="text/javascript", headers=headers)

    app.router.add_get(PAGE_PATH, show_page)
    app.router.add_get(SCRIPT_PATH, show_script)
