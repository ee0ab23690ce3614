"""Override templates (``[templates] directory``) run in Jinja's sandbox: one that reaches
for Python objects is refused at config load, naming file and line, or -- when it hides
what it reaches for -- fails at render naming the file. It never runs a command."""
from __future__ import annotations

from click.testing import CliRunner

from scheduler import main


def setup(tmp_path, hooks, template: str):
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "test.txt").write_text(template, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "dw.db"}"\n[delivery]\ntimeout = 5\n'
                      '[templates]\ndirectory = "tpl"\n'
                      f'[[subscribers]]\nname = "ana"\nurls = ["{hooks.json_url("/ana")}"]\n', encoding="utf-8")

    def drawwatch(*args):
        result = CliRunner().invoke(main, ["--config", str(config), *args])
        assert "Traceback" not in result.output, result.output
        return result

    return folder, drawwatch


def test_reaching_python_internals_is_refused_at_config_load(tmp_path, hooks):
    marker = tmp_path / "ran"
    folder, drawwatch = setup(tmp_path, hooks, f"{{{{ cycler.__init__.__globals__.os.popen('touch {marker}').read() }}}}\n")
    proc = drawwatch("notify-test", "ana")
    assert proc.exit_code == 2
    assert proc.stderr == (f"config error: {tmp_path / 'config.toml'}: templates.directory (line 6): test.txt line 1: "
                           "'__globals__' reaches into Python internals, which templates may not\n")
    assert not marker.exists() and hooks.to("/ana") == []


def test_a_hidden_reach_fails_at_render_naming_the_template(tmp_path, hooks):
    """Attribute names built at run time get past the check at load; the sandbox stops them."""
    marker = tmp_path / "ran"
    under = "'_' ~ '_'"
    folder, drawwatch = setup(tmp_path, hooks,
                              f"{{% set init = {under} ~ 'init' ~ {under} %}}{{% set glob = {under} ~ 'globals' ~ {under} %}}"
                              f"{{{{ (cycler|attr(init)|attr(glob)).os.popen('touch {marker}').read() }}}}\n")
    proc = drawwatch("notify-test", "ana")
    assert proc.exit_code == 1
    assert proc.stdout.startswith(f"json://127.0.0.1:{hooks.port}/****: FAILED: TemplateError: template "
                                  f"{folder / 'test.txt'}: "), proc.stdout
    assert not marker.exists() and hooks.to("/ana") == []


def test_safe_overrides_still_render(tmp_path, hooks):
    _, drawwatch = setup(tmp_path, hooks, "Hello {{ subscriber|upper }}, {{ ['a', 'b']|join('_') }}\n")
    proc = drawwatch("notify-test", "ana")
    assert proc.exit_code == 0, proc.stdout + proc.stderr
    [payload] = hooks.to("/ana")
    assert payload["message"] == "Hello ANA, a_b"
