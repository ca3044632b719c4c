"""``--hooks-http``, ``--hooks-dir``, ``--hooks-enabled-events`` and ``--demo`` from flags,
environment and TOML to ``setup_tus``; bad values are one clear line."""

import os
from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from tuskit_server import create_app
from tuskit_server.command import settings_from_argv
from tuskit_server.launch import StartupError, setup_tus_options
from tuskit_server.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("TUSKIT_"):
            monkeypatch.delenv(name)


def hooked(options: dict[str, object]) -> set[str]:
    """The hooks set in ``options["hooks"]`` (aclose is not a hook)."""
    hooks = options["hooks"]
    names = {"pre_create", "post_create", "post_receive", "pre_finish", "post_finish"}
    names |= {"pre_terminate", "post_terminate"}
    return {name for name in names if getattr(hooks, name) is not None}


def test_http_hooks_from_flags_and_tusds_default_events(tmp_path: Path) -> None:
    argv = ["--storage", str(tmp_path), "--hooks-http", "http://127.0.0.1:8081/hooks"]
    argv += ["--hooks-http-retry", "0", "--hooks-http-backoff", "0.25s"]
    argv += ["--hooks-http-timeout", "5s", "--hooks-enabled-events", "pre-create,post-finish"]
    argv += ["--hooks-enabled-events", "pre-terminate"]
    settings = settings_from_argv(argv, prog="tus serve")
    assert (settings.hooks_http_retry, settings.hooks_http_backoff) == (0, 0.25)
    assert settings.hooks_http_timeout == 5
    assert hooked(setup_tus_options(settings)) == {"pre_create", "post_finish", "pre_terminate"}
    default = load_settings({"storage": tmp_path, "hooks_http": "http://127.0.0.1:8081/"})
    assert hooked(setup_tus_options(default)) == {
        "pre_create",
        "post_create",
        "pre_finish",
        "post_finish",
        "pre_terminate",
        "post_terminate",
    }
    assert "hooks" not in setup_tus_options(load_settings({"storage": tmp_path}))


def test_events_from_the_environment_and_a_hook_dir_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "hooks").mkdir()
    config = tmp_path / "tus.toml"
    config.write_text(f'hooks_dir = "{tmp_path / "hooks"}"\nhooks_dir_timeout = "2s"\n')
    monkeypatch.setenv("TUSKIT_HOOKS_ENABLED_EVENTS", "pre-create, post-receive")
    settings = load_settings({"storage": tmp_path}, config=config)
    assert settings.hooks_dir == tmp_path / "hooks"
    assert settings.hooks_dir_timeout == 2
    assert hooked(setup_tus_options(settings)) == {"pre_create", "post_receive"}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            {"hooks_enabled_events": ["pre-create", "pre-upload"]},
            "--hooks-enabled-events: 'pre-upload' is not a hook event (one of pre-create,",
        ),
        ({"hooks_http": "localhost:8081"}, "--hooks-http: 'localhost:8081' is not an http://"),
        ({"hooks_http_retry": "-1"}, "--hooks-http-retry: '-1' is not valid"),
        (
            {"hooks_http": "http://127.0.0.1:1/", "hooks_dir": "hooks"},
            "--hooks-http and --hooks-dir cannot be combined (choose one)",
        ),
        ({"demo": True, "base_path": "/"}, "--demo serves its page at /: it needs a --base-path"),
    ],
    ids=["event", "url", "retry", "both", "demo-at-root"],
)
def test_bad_hook_settings_are_one_line(flags: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(flags)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_hook_dir_that_is_not_a_directory(tmp_path: Path) -> None:
    settings = load_settings({"storage": tmp_path, "hooks_dir": tmp_path / "missing"})
    with pytest.raises(StartupError, match=r"^--hooks-dir: .*missing is not a directory$"):
        setup_tus_options(settings)


async def test_the_demo_page_and_its_script(tmp_path: Path, aiohttp_client: AiohttpClient) -> None:
    options = setup_tus_options(load_settings({"storage": tmp_path, "demo": True}))
    assert options["demo"] is True
    client = await aiohttp_client(create_app(**options))
    page = await client.get("/")
    assert page.status == 200
    assert page.content_type == "text/html"
    text = await page.text()
    assert 'data-endpoint="/files/"' in text
    assert '<script src="demo/tus-demo.js">' in text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    script = await client.get("/demo/tus-demo.js")
    assert script.content_type == "text/javascript"
    assert '"Upload-Offset"' in await script.text()
    plain = await aiohttp_client(create_app(upload_path=tmp_path, upload_url="/files/"))
    assert (await plain.get("/")).status == 404
