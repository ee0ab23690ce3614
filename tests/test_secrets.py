"""Secrets of notification URLs never reach logs or output, at any log level: the real
``drawwatch`` at DEBUG delivering to a webhook on 127.0.0.1, and the masking itself on the
URL styles Apprise channels use."""
from __future__ import annotations

import io
import logging
import subprocess
import sys

import pytest

from notifier.secrets import MaskingFormatter, mask, remember, secret_parts
from tests.service_harness import ROOT

TOKEN = "T0kenInThePath9f8e"  # a generic webhook's token, in its path
PASSWORD = "hunter2Passw0rd"
CLI_TOKEN = "CliAddedT0ken7c6d"  # a subscriber known only to the database


def test_debug_log_of_a_real_delivery_shows_no_token(tmp_path, hooks):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "dw.db"}"\n[logging]\nlevel = "DEBUG"\n'
                      '[delivery]\ntimeout = 5\n[[subscribers]]\nname = "ana"\n'
                      f'urls = ["{hooks.json_url(f"/hooks/{TOKEN}")}", '
                      f'"json://ana:{PASSWORD}@127.0.0.1:{hooks.port}/basic"]\n', encoding="utf-8")

    def drawwatch(*args):
        proc = subprocess.run([sys.executable, "-m", "scheduler", "--config", str(config), *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        for secret in (TOKEN, PASSWORD, CLI_TOKEN):
            assert secret not in proc.stdout + proc.stderr, proc.stderr
        return proc

    sent = drawwatch("notify-test", "ana")
    assert sent.returncode == 0, sent.stderr
    # Both channels really received it, and urllib3 logged each request -- path masked.
    assert len(hooks.to(f"/hooks/{TOKEN}")) == 1 and len(hooks.to("/basic")) == 1
    posts = [ln for ln in sent.stderr.splitlines() if "urllib3.connectionpool" in ln and '"POST ' in ln]
    assert len(posts) == 2, sent.stderr
    assert all(f'http://127.0.0.1:{hooks.port} "POST /**** HTTP/1.1" 200' in ln for ln in posts), posts

    # A subscriber added from the command line is in no config: read from the database,
    # its URL is masked all the same.
    assert drawwatch("subscribers", "add", "bob", "--url", hooks.json_url(f"/cli/{CLI_TOKEN}")).returncode == 0
    sent = drawwatch("notify-test", "bob")
    assert sent.returncode == 0 and len(hooks.to(f"/cli/{CLI_TOKEN}")) == 1
    assert f'"POST /**** HTTP/1.1" 200' in sent.stderr


def test_arguments_tracebacks_and_stacks_are_masked():
    url = f"json://127.0.0.1:9/hooks/{TOKEN}"
    remember(url)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(MaskingFormatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.secrets.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        logger.debug("posting %s", f"/hooks/{TOKEN}")
        try:
            raise ConnectionError(f"POST /hooks/{TOKEN} refused; sent to {url} at once")
        except ConnectionError:
            logger.exception("send failed", stack_info=True)
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert TOKEN not in text
    assert "DEBUG posting /****\n" in text
    assert "ConnectionError: POST /**** refused; sent to json://127.0.0.1:9/**** at once" in text
    assert "Traceback (most recent call last)" in text and "Stack (most recent call last)" in text


@pytest.mark.parametrize("url,secrets", [
    ("json://127.0.0.1:9/hooks/abc123xyz", {"/hooks/abc123xyz"}),
    (f"json://ana:{PASSWORD}@127.0.0.1:9/x?token=qwertyuiop", {PASSWORD, "/x", "qwertyuiop"}),
    ("slack://TokenA1234/TokenB5678/TokenC9999/#draws", {"TokenA1234", "TokenB5678", "TokenC9999"}),
    ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", {"4174216298", "JHMHI8qBe7bk2ZwO5U711o3dV_js"}),
    ("tgram://123456789:AAbbCCddEEffGGhh/12345678", {"123456789", "AAbbCCddEEffGGhh"}),
    ("mailtos://ana:app-password@gmail.com?to=ops@example.org", {"app-password"}),
    ("rocket://hookid123/secretABC456@127.0.0.1:9", {"hookid123", "secretABC456"}),
])
def test_secret_parts_of_each_url_style(url, secrets):
    """What Apprise hides when it shows a URL privately, and a generic webhook's path."""
    found = secret_parts(url)
    assert secrets <= found
    # Hosts and channel names stay readable in logs.
    assert not found & {"127.0.0.1", "gmail.com", "example.org", "draws"}


def test_remembered_secrets_are_masked_however_printed():
    remember("slack://TokenA1234/TokenB5678/TokenC9999/#draws", "json://127.0.0.1:9/relay")
    # Apprise posts Slack's tokens to a host the URL never named.
    assert mask("POST https://hooks.slack.com/services/TokenA1234/TokenB5678/TokenC9999: 200") == \
        "POST https://hooks.slack.com/services/****/****/****: 200"
    assert mask('"POST /relay HTTP/1.1" 200') == '"POST /**** HTTP/1.1" 200'
    # Whole parts only: other words and paths that merely contain one stay as they are.
    assert mask("relay /relayed TokenA12345") == "relay /relayed TokenA12345"
