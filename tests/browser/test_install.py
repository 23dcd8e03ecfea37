"""The browser tests' setup installs what is missing, does nothing when all is there, and fails
(never skips) with what to do when it cannot install. apt-get itself is replaced here."""

from __future__ import annotations

import subprocess

import pytest

from tests.browser import chromium as setup


@pytest.fixture
def apt(monkeypatch, tmp_path):
    calls: list[tuple[str, ...]] = []
    state = {"installed": set(), "fail": set()}
    chromium = tmp_path / "chromium"

    def fake_apt(*args: str):
        calls.append(args)
        ok = args[0] not in state["fail"]
        if ok and args[0] == "update":
            state["fail"].discard("install")  # the package lists have arrived
        if ok and args[0] == "install":
            state["installed"] |= {a for a in args[1:] if not a.startswith("-")}
            if "chromium" in state["installed"]:
                chromium.write_text("#!/bin/sh\n")
        return subprocess.CompletedProcess(["apt-get", *args], 0 if ok else 100, "",
                                           "" if ok else "E: Unable to locate package chromium")

    monkeypatch.setattr(setup, "CHROMIUM", chromium)
    monkeypatch.setattr(setup, "_apt", fake_apt)
    monkeypatch.setattr(setup, "_installed", lambda p: p in state["installed"])
    monkeypatch.setattr(setup.os, "geteuid", lambda: 0)
    return calls, state, chromium


def test_nothing_is_installed_when_everything_is_there(apt):
    calls, state, chromium = apt
    state["installed"] |= {"chromium", "fonts-wqy-microhei"}
    chromium.write_text("#!/bin/sh\n")
    assert setup.ensure_chromium() == chromium
    assert calls == []


def test_what_is_missing_is_installed_and_the_package_lists_refreshed_if_needed(apt):
    calls, state, chromium = apt
    state["fail"].add("install")  # a fresh machine: no package lists yet
    assert setup.ensure_chromium() == chromium
    assert [c[0] for c in calls] == ["install", "update", "install"]
    assert "chromium" in calls[-1] and "fonts-wqy-microhei" in calls[-1]
    assert "--no-install-recommends" in calls[-1]


def test_it_fails_with_what_to_do_when_it_cannot_install(apt):
    _, state, _ = apt
    state["fail"] |= {"install", "update"}
    with pytest.raises(pytest.fail.Exception) as failed:
        setup.ensure_chromium()
    msg = str(failed.value)
    assert "could not install" in msg and "apt-get install -y chromium fonts-wqy-microhei" in msg
