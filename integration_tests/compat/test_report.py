"""The compat session's judge: how JUnit reports are read and the two columns compared."""

from __future__ import annotations

from integration_tests.compat.report import compare, render
from integration_tests.compat.runner import read_junit
from integration_tests.compat.suites import SUITES, Allowed, Suite, Why

SUITE = Suite(
    name="peer",
    peer="peer==1.0",
    tools=(),
    allowed={
        "tests/test_private.py": Allowed(Why.PRIVATE, "peer._helper"),
        "tests/test_a.py::test_spec": Allowed(Why.SPEC, '"MUST ..."'),
    },
)
ALL_PASS = {
    "tests/test_a.py::test_one": "passed",
    "tests/test_a.py::test_spec": "passed",
    "tests/test_private.py::test_helper[x]": "passed",
}


def test_junit_ids_match_pytest_node_ids() -> None:
    xml = """<testsuites><testsuite>
      <testcase classname="tests.test_core.TestOffset" name="test_offset_functional"/>
      <testcase classname="tests.test_tus" name="test_upload[pyloop-/uploads]">
        <failure message="x"/></testcase>
      <testcase classname="tests.test_tls.TestTLS" name="test_fail"><skipped/></testcase>
      <testcase classname="" name="tests.test_data"><error message="collection"/></testcase>
    </testsuite></testsuites>"""
    assert read_junit(xml) == {
        "tests/test_core.py::TestOffset::test_offset_functional": "passed",
        "tests/test_tus.py::test_upload[pyloop-/uploads]": "failed",
        "tests/test_tls.py::TestTLS::test_fail": "skipped",
        "tests/test_data.py": "error",
    }


def test_listed_failures_are_allowed_and_shown_with_their_reason() -> None:
    tuskit = {
        "tests/test_a.py::test_one": "passed",
        "tests/test_a.py::test_spec": "failed",
        "tests/test_private.py": "error",  # the module did not import
    }
    result = compare(SUITE, ALL_PASS, tuskit)
    assert result.problems == ()
    assert [row.tuskit for row in result.rows] == ["passed", "failed", "error"]
    assert (result.count("peer"), result.count("tuskit")) == (3, 1)
    table = render([result])
    assert "peer 3/3, tuskit 1/3" in table
    assert "forbidden by the spec" in table
    assert "private helper: peer._helper" in table


def test_an_unlisted_failure_is_a_problem() -> None:
    tuskit = dict(ALL_PASS, **{"tests/test_a.py::test_one": "failed"})
    tuskit["tests/test_a.py::test_spec"] = "failed"
    tuskit["tests/test_private.py::test_helper[x]"] = "failed"
    problems = compare(SUITE, ALL_PASS, tuskit).problems
    expected = "peer: tests/test_a.py::test_one passes on the peer but is failed on tuskit"
    assert problems == (expected,)


def test_a_missing_test_is_a_problem() -> None:
    tuskit = {k: v for k, v in ALL_PASS.items() if k != "tests/test_a.py::test_one"}
    problems = compare(SUITE, ALL_PASS, tuskit).problems
    assert any("test_one passes on the peer but is missing on tuskit" in p for p in problems)


def test_a_stale_listing_is_a_problem() -> None:
    problems = compare(SUITE, ALL_PASS, dict(ALL_PASS)).problems
    assert sorted(problems) == [
        "peer: tests/test_a.py::test_spec is listed as allowed but passes on tuskit",
        "peer: tests/test_private.py is listed as allowed but passes on tuskit",
    ]


def test_skips_and_peer_failures_and_empty_runs_are_problems() -> None:
    peer = dict(ALL_PASS, **{"tests/test_a.py::test_one": "skipped"})
    assert any("was skipped" in p for p in compare(SUITE, peer, ALL_PASS).problems)
    peer = dict(ALL_PASS, **{"tests/test_a.py::test_one": "failed"})
    assert any("does not pass on the peer" in p for p in compare(SUITE, peer, ALL_PASS).problems)
    assert "peer: the peer column ran no test" in compare(SUITE, {}, {}).problems


def test_every_listing_says_why() -> None:
    for suite in SUITES.values():
        for allowed in suite.allowed.values():
            assert allowed.reason
            if allowed.why is Why.SPEC:
                assert '"' in allowed.reason  # quotes the specification's sentence
