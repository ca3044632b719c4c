"""The standalone server's settings: flag > environment > file > default, and clear errors."""

import socket
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tuskit_common import Extension
from tuskit_server import Expiration
from tuskit_server.command import parser, settings_from_argv
from tuskit_server.launch import (
    StartupError,
    check_storage,
    setup_tus_options,
    shared_locker,
    tls_context,
)
from tuskit_server.settings import OPTIONS, ServerSettings, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TUSKIT_* variable of the developer's shell leaks into these tests."""
    import os

    for name in list(os.environ):
        if name.upper().startswith("TUSKIT_"):
            monkeypatch.delenv(name)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port, settings.base_path) == ("127.0.0.1", 1080, "/files/")
    assert settings.storage == Path("uploads")
    assert settings.max_size == 10 << 30  # finite by default (issue 21)
    assert settings.expiration == Expiration(
        after=timedelta(days=7), sweep_interval=timedelta(minutes=10)
    )
    assert settings.extensions is None
    assert settings.download
    assert settings.health
    assert settings.metrics
    assert settings.access_log
    assert not settings.behind_proxy
    assert settings.log_format == "text"


@pytest.mark.parametrize(
    ("flag", "env", "file", "expected"),
    [
        ("3000", "2000", "1000", 3000),
        (None, "2000", "1000", 2000),
        (None, None, "1000", 1000),
        (None, None, None, 10 << 30),  # the default: 10 GiB
    ],
)
def test_flag_beats_environment_beats_file_beats_default(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: str | None,
    env: str | None,
    file: str | None,
    expected: int | None,
) -> None:
    config = write(tmp_path / "tus.toml", f"max_size = {file}\n" if file else "")
    if env is not None:
        monkeypatch.setenv("TUSKIT_MAX_SIZE", env)
    assert load_settings({"max_size": flag}, config=config).max_size == expected


def test_config_file_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = write(tmp_path / "tus.toml", 'port = 9000\ncors_origin = ["https://a.example"]\n')
    monkeypatch.setenv("TUSKIT_CONFIG", str(config))
    settings = load_settings({})
    assert settings.port == 9000
    assert settings.cors_origin == ["https://a.example"]


def test_every_form_an_operator_types(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUSKIT_CHECKSUM", "sha1, sha256")
    monkeypatch.setenv("TUSKIT_DOWNLOAD", "false")
    config = write(
        tmp_path / "tus.toml",
        'max_size = "2GiB"\nexpire_after = "never"\nlock_timeout = "1m"\n'
        'disable = ["termination", "concatenation"]\nmetadata_limit = 8192\n',
    )
    settings = load_settings({"idle_timeout": "90s", "behind_proxy": True}, config=config)
    assert settings.checksum == ["sha1", "sha256"]
    assert settings.download is False
    assert settings.max_size == 2 << 30
    assert settings.expiration is None
    assert settings.lock_timeout == 60
    assert settings.idle_timeout == 90
    assert settings.behind_proxy
    assert settings.metadata_limit == 8192
    assert settings.extensions is not None
    assert Extension.TERMINATION not in settings.extensions
    assert Extension.CREATION in settings.extensions
    assert load_settings({"max_size": "unlimited"}).max_size is None


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"port": "http"}, "--port: 'http' is not valid: Input should be a valid integer"),
        ({"port": "70000"}, "--port: '70000' is not valid: Input should be less than"),
        (
            {"max_size": "2 gigs"},
            "--max-size: expected a size like 8MiB, 500kB or 1048576, got '2 gigs'",
        ),
        ({"expire_after": "soon"}, "--expire-after: expected a duration like 90s, 30m"),
        ({"checksum": ["sha3"]}, "--checksum: 'sha3' is not one of sha1, md5"),
        ({"checksum": ["md5"]}, "--checksum: the checksum extension requires sha1"),
        ({"disable": ["uploads"]}, "--disable: 'uploads' is not one of creation,"),
        ({"base_path": "files"}, "--base-path: 'files' is not a URL path (it must start with /)"),
        ({"log_format": "xml"}, "--log-format: 'xml' is not valid: Input should be 'text' or"),
        ({"workers": "0"}, "--workers: '0' is not valid: Input should be greater than or equal"),
        ({"tls_key": "k.pem"}, "--tls-key needs --tls-cert"),
        ({"unix_socket": "/s", "workers": "2"}, "--unix-socket needs --workers 1"),
        ({"locker": "http://cache:6379"}, "--locker: 'http://cache:6379' is not a Redis URL"),
        ({"locker": "redis://cache:port/0"}, "--locker: 'redis://cache:port/0' is not a Redis"),
        ({"locker": "redis://cache/zero"}, "--locker: 'redis://cache/zero' is not a Redis URL"),
        ({"locker": "redis:///0"}, "--locker: 'redis:///0' is not a Redis URL"),
    ],
)
def test_a_bad_flag_value_names_the_flag_and_the_accepted_form(
    flags: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(flags)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_bad_value_names_its_variable_or_file_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUSKIT_IDLE_TIMEOUT", "a while")
    with pytest.raises(
        SettingsError, match=r"^TUSKIT_IDLE_TIMEOUT: expected a duration like .*'a while'"
    ):
        load_settings({})
    monkeypatch.delenv("TUSKIT_IDLE_TIMEOUT")
    config = write(tmp_path / "tus.toml", 'workers = "many"\n')
    with pytest.raises(SettingsError, match=f"^workers in {config}: 'many' is not valid"):
        load_settings({}, config=config)


def test_the_locker_url_from_a_flag_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings({}).locker is None
    monkeypatch.setenv("TUSKIT_LOCKER", "redis://cache.internal:6380/2")
    assert load_settings({}).locker == "redis://cache.internal:6380/2"
    assert load_settings({"locker": "unix:///run/redis.sock"}).locker == "unix:///run/redis.sock"


def test_an_unreachable_locker_stops_the_start_in_one_line() -> None:
    with socket.socket() as probe:  # a loopback port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = load_settings({"locker": f"redis://127.0.0.1:{port}/0"})
    with pytest.raises(StartupError) as caught:
        shared_locker(settings)
    message = str(caught.value)
    assert message.startswith(f"--locker redis://127.0.0.1:{port}/0: Redis cannot be reached: ")
    assert "\n" not in message


def test_a_locker_without_redis_py_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tuskit_server.locks.redis", None)  # as if not installed
    settings = load_settings({"locker": "redis://127.0.0.1:6379/0"})
    with pytest.raises(StartupError, match=r"^--locker needs redis-py: pip install 'tuskit-server"):
        shared_locker(settings)


def test_a_bad_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"--config: .* is not a readable TOML file"):
        load_settings({}, config=tmp_path / "missing.toml")
    broken = write(tmp_path / "broken.toml", "port = [\n")
    with pytest.raises(SettingsError, match=r"^--config: .*broken.toml: "):
        load_settings({}, config=broken)
    typo = write(tmp_path / "typo.toml", "prot = 8080\n")
    with pytest.raises(SettingsError, match=r"typo.toml: unknown key 'prot'"):
        load_settings({}, config=typo)


def test_the_command_line_has_every_option_as_a_flag() -> None:
    help_text = parser("tus serve").format_help()
    for option in OPTIONS:
        assert option.flag in help_text, option.name
        assert option.env in help_text.replace("\n", " ").replace("  ", ""), option.name
    assert "--no-download" in help_text
    assert "--config" in help_text


def test_the_command_line_leaves_unset_options_to_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TUSKIT_PORT", "8080")
    monkeypatch.setenv("TUSKIT_DOWNLOAD", "0")
    argv = ["--host", "0.0.0.0", "--disable", "termination", "--disable", "expiration"]
    settings = settings_from_argv([*argv, "--behind-proxy"], prog="tus serve")
    assert (settings.host, settings.port, settings.download) == ("0.0.0.0", 8080, False)
    assert settings.disable == ["termination", "expiration"]
    assert settings.behind_proxy
    assert settings_from_argv(["--download"], prog="tus serve").download


def test_an_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        settings_from_argv(["--prot", "1"], prog="tus serve")
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err == "tus serve: error: unrecognized arguments: --prot 1 (see tus serve --help)\n"


def test_the_settings_become_setup_tus_options(tmp_path: Path) -> None:
    settings = ServerSettings(
        storage=tmp_path,
        disable=["termination"],
        splice_min=0,
        health=False,
        metrics=False,
        cors_origin=["https://a.example"],
        behind_proxy=True,
        download=False,
        metadata_limit="1KiB",
        lock_timeout="3s",
        idle_timeout="2m",
        max_size="1GB",
        checksum=["sha1"],
    )
    options = setup_tus_options(settings)
    assert options["behind_proxy"] is True
    assert options["download"] is False
    assert options["metadata_limit"] == 1024
    assert options["lock_timeout"] == 3
    assert options["idle_timeout"] == 120
    assert options["max_size"] == 10**9
    assert options["checksum_algorithms"] == ("sha1",)
    assert options["upload_url"] == "/files/"
    assert options["upload_path"] == tmp_path
    assert Extension.TERMINATION not in options["extensions"]
    assert options["splice_min"] is None
    assert options["health"] is False
    assert "metrics" not in options
    assert tuple(options["cors"].origins) == ("https://a.example",)


def test_storage_that_cannot_be_created_or_written(tmp_path: Path) -> None:
    blocker = write(tmp_path / "a-file", "")
    with pytest.raises(StartupError, match=r"^storage .*a-file/up cannot be used: Not a directory"):
        check_storage(ServerSettings(storage=blocker / "up"))
    with pytest.raises(StartupError, match=r"^storage /proc cannot be used: "):
        check_storage(ServerSettings(storage=Path("/proc")))  # not writable, even for root
    check_storage(ServerSettings(storage=tmp_path / "new" / "dir"))
    assert list((tmp_path / "new" / "dir").iterdir()) == []  # the write check left nothing


def test_a_bad_certificate_is_one_line(tmp_path: Path) -> None:
    assert tls_context(ServerSettings()) is None
    with pytest.raises(StartupError, match=r"^TLS certificate .*missing.pem cannot be used: "):
        tls_context(ServerSettings(tls_cert=tmp_path / "missing.pem"))
    junk = write(tmp_path / "junk.pem", "not a certificate")
    with pytest.raises(StartupError, match=r"^TLS certificate .*junk.pem cannot be used: "):
        tls_context(ServerSettings(tls_cert=junk))
