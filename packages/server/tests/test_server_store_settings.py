"""``--store DIR|s3://bucket/prefix`` and the ``--s3-*`` options: their forms, their errors
(one line naming the option) and the start-up check of the bucket (moto's server, or the
service ``TUSKIT_TEST_S3_*`` names, see :mod:`tus_s3_testing`)."""

import asyncio
import socket
from pathlib import Path

import pytest
from tus_s3_testing import S3Target

from tuskit_common import Extension
from tuskit_server._serving import worker_settings
from tuskit_server.launch import StartupError, check_storage, s3_store, setup_tus_options
from tuskit_server.settings import SettingsError, load_settings
from tuskit_server.stores.s3 import S3Store


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No TUSKIT_* setting of the developer's shell leaks in (the test-target ones stay)."""
    import os

    for name in list(os.environ):
        if name.upper().startswith("TUSKIT_") and not name.upper().startswith("TUSKIT_TEST_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("store", "bucket", "prefix"),
    [
        ("s3://uploads", "uploads", ""),
        ("s3://uploads/", "uploads", ""),
        ("s3://my.uploads-1/tus", "my.uploads-1", "tus/"),
        ("s3://my-uploads/a/b/", "my-uploads", "a/b/"),
    ],
)
def test_an_s3_url_names_a_bucket_and_a_prefix(store: str, bucket: str, prefix: str) -> None:
    settings = load_settings({"store": store}, environ={})
    assert settings.s3 is not None
    assert (settings.s3.bucket, settings.s3.prefix) == (bucket, prefix)
    assert settings.upload_dir is None
    assert setup_tus_options(settings.model_copy(update={"metrics": False}))["upload_path"] is None


def test_a_directory_store_is_the_storage_folder(tmp_path: Path) -> None:
    settings = load_settings({"store": str(tmp_path / "up")}, environ={})
    assert (settings.s3, settings.upload_dir) == (None, tmp_path / "up")
    check_storage(settings)
    assert (tmp_path / "up").is_dir()
    assert s3_store(settings) is None
    assert load_settings({}, environ={}).upload_dir == Path("uploads")  # --storage's default


def test_the_store_from_the_environment_or_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUSKIT_STORE", "s3://env-bucket/p")
    monkeypatch.setenv("TUSKIT_S3_PART_SIZE", "8MiB")
    settings = load_settings({})
    assert settings.s3 is not None
    assert (settings.s3.bucket, settings.s3_part_size) == ("env-bucket", 8 << 20)
    config = tmp_path / "tus.toml"
    config.write_text(
        'store = "s3://file-bucket"\ns3_endpoint = "http://127.0.0.1:9000"\ns3_region = "eu-1"\n'
    )
    monkeypatch.delenv("TUSKIT_STORE")
    monkeypatch.delenv("TUSKIT_S3_PART_SIZE")
    settings = load_settings({}, config=config)
    assert settings.s3 is not None
    assert settings.s3.bucket == "file-bucket"
    assert (settings.s3_endpoint, settings.s3_region) == ("http://127.0.0.1:9000", "eu-1")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"store": "http://bucket/x"}, "--store: 'http://bucket/x' is neither a directory nor"),
        ({"store": "s3://Upper"}, "--store: 's3://Upper' is not an s3://bucket/prefix URL"),
        ({"store": "s3://ab"}, "--store: 's3://ab' is not an s3://bucket/prefix URL"),
        ({"store": "s3://"}, "--store: 's3://' is not an s3://bucket/prefix URL"),
        ({"store": "s3://b..b/x"}, "--store: 's3://b..b/x' is not an s3://bucket/prefix URL"),
        ({"store": " "}, "--store: ' ' is not valid: an empty value is neither"),
        ({"store": "s3://bucket", "s3_part_size": "4MiB"}, "--s3-part-size: '4MiB' is not valid"),
        ({"store": "s3://bucket", "s3_part_size": "6GiB"}, "--s3-part-size: '6GiB' is not valid"),
        ({"store": "s3://bucket", "s3_endpoint": "minio:9000"}, "--s3-endpoint: 'minio:9000'"),
        ({"s3_region": "eu-1"}, "--s3-endpoint, --s3-region and --s3-part-size need --store s3"),
        ({"store": "/srv/up", "s3_endpoint": "http://m"}, "--s3-endpoint, --s3-region and"),
        ({"store": "s3://bucket", "storage": "up"}, "--store and --storage both name where"),
        ({"store": "s3://bucket", "max_stored": "1GB"}, "--max-stored and --max-in-progress need"),
        ({"store": "s3://bucket", "max_in_progress": 9}, "--max-stored and --max-in-progress need"),
    ],
)
def test_a_bad_store_is_one_line_naming_the_option(flags: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(flags, environ={})
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_bad_store_from_the_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TUSKIT_STORE", "ftp://x")
    with pytest.raises(SettingsError, match=r"^TUSKIT_STORE: 'ftp://x' is neither a directory"):
        load_settings({})


@pytest.fixture
def aws(s3: S3Target, monkeypatch: pytest.MonkeyPatch) -> S3Target:
    """tus serve reads credentials from the AWS chain: the target's, as variables."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3.access_key or "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3.secret_key or "testing")
    return s3


def s3_flags(target: S3Target, store: str, **more: object) -> dict[str, object]:
    flags: dict[str, object] = {"store": store, "s3_region": target.region, **more}
    if target.endpoint_url is not None:
        flags["s3_endpoint"] = target.endpoint_url
    return flags


def test_a_reachable_bucket_gives_the_store_served(aws: S3Target) -> None:
    bucket, prefix = asyncio.run(aws.fresh())  # s3_store runs its own loop, as tus serve does
    flags = s3_flags(aws, f"s3://{bucket}/{prefix}tus", s3_part_size="6MiB", max_size="1GiB")
    store = s3_store(load_settings(flags, environ={}))
    assert isinstance(store, S3Store)
    assert (store.connection.bucket, store.prefix) == (bucket, f"{prefix}tus/")
    assert store.connection.endpoint_url == aws.endpoint_url
    assert store.connection.region == aws.region
    assert store._part_size == 6 << 20  # what the option set
    assert store._bucket is None  # opened later, by the process that serves


def test_a_missing_bucket_stops_the_start_in_one_line(aws: S3Target) -> None:
    settings = load_settings(s3_flags(aws, "s3://tuskit-no-such-bucket-here/x"), environ={})
    with pytest.raises(StartupError) as caught:
        s3_store(settings)
    message = str(caught.value)
    assert message.startswith("--store s3://tuskit-no-such-bucket-here/x: s3://tuskit-no-such")
    assert "cannot be used" in message
    assert "\n" not in message


def test_an_unreachable_endpoint_stops_the_start_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with socket.socket() as probe:  # a loopback port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    flags = {"store": "s3://bucket", "s3_endpoint": f"http://127.0.0.1:{port}"}
    with pytest.raises(StartupError) as caught:
        s3_store(load_settings({**flags, "s3_region": "us-east-1"}, environ={}))
    message = str(caught.value)
    assert message.startswith(f"--store s3://bucket: s3://bucket at http://127.0.0.1:{port} ")
    assert "\n" not in message


def test_workers_on_s3_keep_concatenation_unfinished(tmp_path: Path) -> None:
    store = S3Store("bucket", endpoint_url="http://127.0.0.1:1")
    with worker_settings({"store": store, "locker": None}) as settings:
        assert "extensions" not in settings  # everything the store offers
    wanted = (Extension.CONCATENATION, Extension.CONCATENATION_UNFINISHED)
    with worker_settings({"store": store, "extensions": wanted}) as settings:
        assert settings["extensions"] == wanted
    with worker_settings({"upload_path": tmp_path}) as settings:  # a folder: one process knows
        assert Extension.CONCATENATION_UNFINISHED not in settings["extensions"]
