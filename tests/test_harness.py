"""The harness itself: system packages are installed, skipped with a reason, or required under CI."""

import pytest

import harness


def test_a_present_binary_is_found_without_installing():
    called = []
    path, reason = harness.debian_package("sh", "dash", install=called.append)
    assert path and reason is None and called == []


def test_a_missing_binary_is_installed_or_explained():
    path, reason = harness.debian_package("no-such-binary-xyz", "no-such-package",
                                          install=lambda package: f"cannot install {package}")
    assert path is None and reason == "cannot install no-such-package"


def test_missing_binaries_skip_outside_ci_and_fail_under_ci(monkeypatch, capsys):
    refuse = {"install": lambda package: "apt-get is unavailable"}
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        harness.require_binary("no-such-binary-xyz", "no-such-package", **refuse)
    assert "skipped: apt-get is unavailable" in capsys.readouterr().out
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run this test"):
        harness.require_binary("no-such-binary-xyz", "no-such-package", **refuse)


def test_the_mutation_harness_reports_what_a_test_cell_printed():
    printed = harness.run_test_cell("print('OK x')", {})
    assert printed == "OK x\n"
    with pytest.raises(AssertionError):
        harness.run_test_cell("assert student() == 1", {"student": lambda: 2})
