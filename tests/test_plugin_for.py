"""notifier.send.plugin_for makes, for every kind of URL a subscriber writes, the plugin
Apprise.instantiate makes (its own schemes parsed without Apprise's eager log lines; the
rest handed to Apprise): the same class, the same URL back, the same refusals."""
from __future__ import annotations

import logging

import apprise
import pytest

from notifier.send import plugin_for

URLS = [
    "json://127.0.0.1:8080/hook?format=markdown",
    "jsons://user:pass@example.com/x/y",
    "form://localhost/#x",
    "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#general",
    "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ",  # a native URL
    "mailto://user:secret@gmail.com?to=a@example.ca",
    "mmost://127.0.0.1:9/abcdef",
    "rocket://hook/secret@127.0.0.1:9",
    "discord://1234/abcd",
    "tgram://123456789:abcdefg_hijklmnop/12315544/",
    "JSON://127.0.0.1/upper-case-scheme",
]
REFUSED = ["nope://x", "json://", "slack://", "not a url", "tgram://bad"]


@pytest.mark.parametrize("url", URLS)
def test_the_same_plugin_as_apprise_makes(url):
    ours, theirs = plugin_for(url), apprise.Apprise.instantiate(url)
    assert theirs is not None
    assert type(ours) is type(theirs)
    assert ours.url(privacy=False) == theirs.url(privacy=False)


@pytest.mark.parametrize("url", REFUSED)
def test_refused_as_apprise_refuses_and_says_why(url, caplog):
    assert apprise.Apprise.instantiate(url) is None
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="apprise"):
        assert plugin_for(url) is None
    assert caplog.records, "Apprise's reason for refusing the URL is logged"
