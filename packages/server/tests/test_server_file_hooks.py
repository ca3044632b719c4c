"""File hooks (tusd's ``-hooks-dir``): real scripts written into the test's directory get
the event on stdin and in the environment; their exit status and stdout decide."""

import json
import logging
import stat
import sys
from pathlib import Path

import pytest
from tus_server_testing import TUS, MakeClient, b64, create, patch

from tuskit_server import FileHooks
from tuskit_server.metrics import Metrics


def script(directory: Path, event: str, text: str) -> Path:
    """An executable hook ``directory/event`` with ``text`` (its shebang line included)."""
    directory.mkdir(exist_ok=True)
    path = directory / event
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


RECORD = """#!/bin/sh
cat > "{out}/$(basename "$0").json"
printf '%s|%s|%s' "$TUS_ID" "$TUS_OFFSET" "$TUS_SIZE" > "{out}/$(basename "$0").env"
"""


async def test_scripts_get_the_event_on_stdin_and_in_the_environment(
    make_client: MakeClient, tmp_path: Path
) -> None:
    hooks_dir, out = tmp_path / "hooks", tmp_path / "out"
    out.mkdir()
    for event in ("pre-create", "post-create", "post-finish"):
        script(hooks_dir, event, RECORD.format(out=out))
    hooks = FileHooks(hooks_dir).hooks()
    client = await make_client(hooks=hooks)
    path = await create(client, 3, headers={"Upload-Metadata": f"filename {b64('f.bin')}"})
    assert (await patch(client, path, 0, b"xyz")).status == 204
    assert hooks.aclose is not None
    await hooks.aclose()  # the post-hooks ran in the background
    upload_id = path.rsplit("/", 1)[1]
    pre = json.loads((out / "pre-create.json").read_text())
    assert pre["Type"] == "pre-create"
    assert pre["Event"]["Upload"]["ID"] == ""
    assert pre["Event"]["Upload"]["MetaData"] == {"filename": "f.bin"}
    assert pre["Event"]["HTTPRequest"]["Method"] == "POST"
    assert (out / "pre-create.env").read_text() == "|0|3"
    finished = json.loads((out / "post-finish.json").read_text())
    assert finished["Event"]["Upload"]["ID"] == upload_id
    assert (out / "post-finish.env").read_text() == f"{upload_id}|3|3"
    assert (out / "post-create.env").read_text() == f"{upload_id}|0|3"


async def test_a_non_zero_exit_rejects_a_pre_hook_with_500(
    make_client: MakeClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script(tmp_path / "hooks", "pre-create", "#!/bin/sh\necho 'no quota' >&2\nexit 3\n")
    metrics = Metrics()
    client = await make_client(hooks=FileHooks(tmp_path / "hooks").hooks(), metrics=metrics)
    with caplog.at_level(logging.WARNING, logger="tuskit_server"):
        response = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
    assert response.status == 500
    assert await response.text() == "the pre_create hook failed\n"
    assert any("exited with status 3" in r.getMessage() for r in caplog.records)
    labels = {"hooktype": "pre_create"}
    assert metrics.registry.get_sample_value("tuskit_hook_errors_total", labels) == 1
    assert not list((tmp_path / "up").glob("*.info"))


PYTHON_GATE = f"""#!{sys.executable}
import json, sys
event = json.load(sys.stdin)
metadata = event["Event"]["Upload"]["MetaData"]
if "owner" not in metadata:
    print(json.dumps({{"RejectUpload": True,
                      "HTTPResponse": {{"StatusCode": 401, "Body": "who are you?"}}}}))
else:
    print(json.dumps({{"ChangeFileInfo": {{"ID": "by-" + metadata["owner"]}}}}))
"""


async def test_stdout_carries_tusds_response(make_client: MakeClient, tmp_path: Path) -> None:
    script(tmp_path / "hooks", "pre-create", PYTHON_GATE)
    client = await make_client(hooks=FileHooks(tmp_path / "hooks").hooks())
    refused = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
    assert refused.status == 401
    assert await refused.text() == "who are you?\n"
    path = await create(client, 1, headers={"Upload-Metadata": f"owner {b64('ann')}"})
    assert path == "/uploads/by-ann"


async def test_a_missing_script_is_no_hook_and_a_slow_one_times_out(
    make_client: MakeClient, tmp_path: Path
) -> None:
    script(tmp_path / "hooks", "pre-terminate", "#!/bin/sh\nexec sleep 30\n")
    client = await make_client(hooks=FileHooks(tmp_path / "hooks", timeout=0.5).hooks())
    path = await create(client, 1)  # no pre-create script: nothing to ask
    response = await client.delete(path, headers=TUS)
    assert response.status == 500
    assert await response.text() == "the pre_terminate hook failed\n"
    assert (await client.head(path, headers=TUS)).status == 200


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody reaped does not)."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat_line.rsplit(")", 1)[1].split()[0] != "Z"


async def test_a_timeout_kills_the_script_and_what_it_started(
    make_client: MakeClient, tmp_path: Path
) -> None:
    pid_file = tmp_path / "child.pid"
    script(
        tmp_path / "hooks", "pre-create", f"#!/bin/sh\nsleep 300 &\necho $! > {pid_file}\nwait\n"
    )
    client = await make_client(hooks=FileHooks(tmp_path / "hooks", timeout=0.5).hooks())
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
    assert response.status == 500
    assert not running(int(pid_file.read_text()))


@pytest.mark.parametrize(
    ("text", "mode"),
    [("#!/bin/sh\nexit 0\n", 0o644), ("#!/bin/sh\necho '{not json'\n", 0o755)],
    ids=["not-executable", "not-json"],
)
async def test_a_script_that_cannot_run_or_answer_fails_the_pre_hook(
    make_client: MakeClient, tmp_path: Path, text: str, mode: int
) -> None:
    script(tmp_path / "hooks", "pre-create", text).chmod(mode)
    client = await make_client(hooks=FileHooks(tmp_path / "hooks").hooks())
    response = await client.post("/uploads", headers={**TUS, "Upload-Length": "1"})
    assert response.status == 500
