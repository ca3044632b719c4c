"""The conformance table against tusd, the reference server, in the ``interop`` session.

Every case of :data:`integration_tests.conformance.CASES` runs against one tusd (filestore,
``-max-size`` as for tuskit-server). A case listed in
:data:`integration_tests.conformance.tusd.TUSD` must fail there (``differs``) and tusd's own
answer is checked instead; the rest must pass as on tuskit-server.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration_tests.conformance import CASES, MAX_SIZE, Api
from integration_tests.conformance.tusd import TUSD
from integration_tests.harness import running_server
from integration_tests.peers.drivers import PeerMissing, PeerServer, server_command

pytestmark = pytest.mark.peers


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One tusd for the whole table: every case works on uploads of its own."""
    base = tmp_path_factory.mktemp("conformance-tusd")
    try:
        command = server_command(PeerServer.TUSD, base / "store")
    except PeerMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    argv = [*command.argv, "-max-size", str(MAX_SIZE)]
    with running_server(argv, ready=command.ready, log_dir=base) as server:
        yield server.url


@pytest.mark.parametrize("name", list(CASES))
async def test_conformance_tusd(name: str, api: Api) -> None:
    difference = TUSD.get(name)
    if difference is None:
        await CASES[name](api)
        return
    if difference.kind == "differs":
        with pytest.raises((AssertionError, KeyError)):
            await CASES[name](api)
    await difference.check(api)


def test_every_tusd_difference_names_a_case() -> None:
    """A renamed or removed case must not leave a stale row behind."""
    assert set(TUSD) <= set(CASES)
