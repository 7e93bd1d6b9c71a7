"""Plugin loading: broken plugins are reported while the rest load and every command keeps working."""

from __future__ import annotations

import importlib
import json
import re
import types

import pydantic
import pytest
import torch

import genkit
from genkit.errors import PluginError
from genkit.plugins import get_plugin_manager, reset_plugin_manager

# ``genkit.plugins`` is also the API function, so fetch the module itself.
plugin_module = importlib.import_module("genkit.plugins")
REAL_ENTRY_POINTS = plugin_module._entry_points


class FakeEntryPoint:
    """Stands in for an installed package's ``genkit`` entry point."""

    def __init__(self, name: str, target, package: str | None = None):
        self.name = name
        self.value = f"{package or 'genkit-' + name}:plugin"
        self.dist = None
        self._target = target
        self.loaded = False

    def load(self):
        self.loaded = True
        if isinstance(self._target, BaseException):
            raise self._target
        return self._target


def plugin(**hooks) -> types.ModuleType:
    """A plugin module from hook functions (each wrapped with ``genkit.hookimpl``) and constants."""
    ns = types.ModuleType("fake_plugin")
    for name, fn in hooks.items():
        if name.isupper():
            setattr(ns, name, fn)
        else:
            setattr(ns, name, genkit.hookimpl(fn))
    return ns


@pytest.fixture
def install(monkeypatch, request):
    """``install(*fake_entry_points)``: the installed plugins plus these, loaded afresh (with ``tiny``)."""

    def do(*fakes):
        monkeypatch.setattr(
            plugin_module, "_entry_points", lambda: sorted([*REAL_ENTRY_POINTS(), *fakes], key=lambda e: e.name)
        )
        reset_plugin_manager()
        request.getfixturevalue("tiny")
        return {p.name: p for p in get_plugin_manager().plugins}

    return do


def report(cli) -> dict[str, dict]:
    code, out, _ = cli("plugins", "--json")
    assert code == 0
    return {p["name"]: p for p in json.loads(out)}


def test_import_failure_is_reported_and_the_rest_load(install, cli):
    found = install(FakeEntryPoint("badimport", ImportError("No module named 'missing_dep'")))
    assert found["badimport"].status == "broken"
    assert "import failed: ImportError: No module named 'missing_dep'" in found["badimport"].error
    assert found["vae"].status == "ok" and get_plugin_manager().model("vae").name == "vae"
    shown = report(cli)
    assert shown["badimport"]["status"] == "broken" and shown["badimport"]["package"] == "genkit-badimport"
    assert shown["vae"]["provides"] == {"models": ["vae"]}


def test_plugins_table_at_80_columns_still_shows_the_whole_reason(install, cli, monkeypatch):
    from rich.console import Console

    reason = "No module named 'a_dependency_with_a_long_name_that_no_table_cell_at_eighty_columns_can_hold'"
    install(FakeEntryPoint("longreason", ImportError(reason)))
    monkeypatch.setattr(importlib.import_module("genkit.cli.shared"), "out", Console(width=80))
    code, out, _ = cli("plugins")
    assert code == 0 and max(len(line) for line in out.splitlines() if "│" in line or "─" in line) <= 80
    assert f"import failed: ImportError: {reason}" in out  # below the table, unwrapped


def test_plugin_exiting_on_import_does_not_end_genkit(install):
    found = install(FakeEntryPoint("quitter", SystemExit(3)), FakeEntryPoint("ctrlc", KeyboardInterrupt()))
    assert found["quitter"].status == "broken" and "SystemExit" in found["quitter"].error
    assert found["ctrlc"].status == "broken" and "KeyboardInterrupt" in found["ctrlc"].error
    assert found["vae"].status == "ok"


def test_a_real_ctrl_c_while_plugins_load_still_stops_genkit(monkeypatch):
    import signal

    class Interrupted(FakeEntryPoint):
        def load(self):  # the user presses Ctrl-C while this plugin imports
            signal.raise_signal(signal.SIGINT)
            return object()

    monkeypatch.setattr(plugin_module, "_entry_points", lambda: [Interrupted("slowpoke", None)])
    reset_plugin_manager()
    with pytest.raises(KeyboardInterrupt):
        get_plugin_manager()


def test_hook_that_raises_marks_only_that_plugin_broken(install):
    def register_datasets(register):
        register(genkit.DatasetSpec("half", lambda d, a: None))

    def register_models(register):
        raise ValueError("boom")

    found = install(
        FakeEntryPoint("raiser", plugin(register_models=register_models, register_datasets=register_datasets))
    )
    assert found["raiser"].status == "broken"
    assert found["raiser"].error == "register_models: ValueError: boom"
    # nothing of a half-registered plugin is kept
    assert "half" not in get_plugin_manager().registries["datasets"]
    assert found["vae"].status == "ok"


def test_invalid_registration_is_a_broken_plugin_not_a_crash(install):
    found = install(
        FakeEntryPoint("noname", plugin(register_models=lambda register: register(object()))),
        FakeEntryPoint("notaspec", plugin(register_models=lambda register: register({"x": 1}, name="thing"))),
    )
    assert "invalid name" in found["noname"].error
    assert "must be registered as genkit.ModelSpec" in found["notaspec"].error
    assert found["vae"].status == "ok"


def test_incompatible_contract_version_is_broken_and_newer_minor_loads_with_a_warning(install, cli):
    found = install(
        FakeEntryPoint("future", plugin(GENKIT_CONTRACT="2.0", register_datasets=lambda register: None)),
        FakeEntryPoint("oldname", plugin(GENKIT_HOOKS=2, register_datasets=lambda register: None)),
        FakeEntryPoint("newer", plugin(GENKIT_CONTRACT="1.7", register_datasets=lambda register: None)),
        FakeEntryPoint("older", plugin(GENKIT_HOOKS=1, register_datasets=lambda register: None)),
        FakeEntryPoint("garbled", plugin(GENKIT_CONTRACT="one")),
    )
    assert genkit.HOOK_SPEC_VERSION == genkit.CONTRACT_VERSION
    ours = genkit.CONTRACT_VERSION
    assert found["future"].status == "broken"
    assert found["future"].error == (
        f"written for genkit contract 2.0, this genkit provides contract {ours} (install a matching version of one "
        "or the other)"
    )
    assert found["oldname"].status == "broken" and "written for genkit contract 2," in found["oldname"].error
    assert found["newer"].status == "ok" and "newer than this genkit's" in found["newer"].warnings[0]
    assert found["older"].status == "ok" and not found["older"].warnings
    assert found["garbled"].status == "broken" and "unreadable contract version" in found["garbled"].error
    shown = report(cli)
    assert {name: shown[name]["contract"] for name in ("future", "newer", "older", "genkit")} == {
        "future": "2.0",
        "newer": "1.7",
        "older": "1",
        "genkit": ours,
    }
    assert shown["garbled"]["contract"] == "unversioned"
    code, out, _ = cli("plugins")
    assert code == 0 and "contract" in out and "written for genkit contract 2.0" in " ".join(out.split())


def test_duplicate_model_name_is_an_error_naming_both_packages(install, cli):
    copycat = plugin(
        register_models=lambda register: register(
            genkit.ModelSpec(name="vae", config=genkit.TrainConfig, build=lambda c, d: None)
        )
    )
    install(FakeEntryPoint("zcopycat", copycat, package="genkit-copycat"))
    with pytest.raises(
        PluginError, match=r"model 'vae' is registered by both genkit-vae \(vae\) and genkit-copycat \(zcopycat\)"
    ):
        get_plugin_manager().model("vae")
    shown = report(cli)
    assert "also registered by genkit-copycat" in shown["vae"]["warnings"][0]
    assert "also registered by genkit-vae" in shown["zcopycat"]["warnings"][0]
    code, _, err = cli("train", "vae", "--dataset", "tiny", "--epochs", "1")
    assert code == 1 and "genkit-vae" in err and "genkit-copycat" in err
    # the clash costs only that name: the datasets and evaluators still work
    assert get_plugin_manager().dataset("tiny").name == "tiny"


def test_same_name_twice_in_one_plugin_is_broken(install):
    twice = plugin(
        register_datasets=lambda register: [register(genkit.DatasetSpec("d", lambda a, b: None)) for _ in range(2)]
    )
    assert "registers dataset 'd' twice" in install(FakeEntryPoint("twice", twice))["twice"].error


def test_genkit_plugins_empty_loads_none(install, monkeypatch, cli):
    monkeypatch.setenv("GENKIT_PLUGINS", "")
    bad = FakeEntryPoint("badimport", ImportError("never imported"))
    found = install(bad)
    assert not bad.loaded
    assert found["vae"].status == "disabled" and found["badimport"].status == "disabled"
    assert found["genkit"].status == "ok"  # genkit's own datasets and metrics stay
    code, _, err = cli("train", "vae", "--dataset", "tiny")
    assert code == 1 and "unknown model 'vae'" in err


def test_genkit_plugins_allow_list(install, monkeypatch):
    monkeypatch.setenv("GENKIT_PLUGINS", "vae, nosuch")
    bad = FakeEntryPoint("badimport", ImportError("never imported"))
    found = install(bad)
    assert not bad.loaded and found["badimport"].status == "disabled"
    assert found["vae"].status == "ok"
    assert found["nosuch"].status == "not found" and "GENKIT_PLUGINS" in found["nosuch"].error


def test_broken_plugin_leaves_every_command_working(install, cli, tmp_path):
    install(FakeEntryPoint("badimport", ImportError("No module named 'missing_dep'")))
    code, out, err = cli(
        "train",
        "vae",
        "--dataset",
        "tiny",
        "--epochs",
        "1",
        "--set",
        "train.val_size=64",
        "--out",
        str(tmp_path / "run"),
    )
    assert code == 0, err
    assert "plugin 'badimport' (genkit-badimport) failed to load" in err
    code, out, err = cli("sample", str(tmp_path / "run"), "-n", "4")
    assert code == 0 and (tmp_path / "run" / "samples.png").is_file()
    code, out, err = cli("plugins")
    assert code == 0 and "badimport" in out and "failed to load" not in err
    # asking for a name nobody provides points at the plugins that failed
    with pytest.raises(PluginError, match="plugins that failed to load: badimport"):
        get_plugin_manager().model("mymodel")


def test_plugin_commands_are_added_but_never_replace_genkit_commands(install, cli):
    def older(cli):  # the older form: a typer app to add commands to
        @cli.command()
        def train():
            print("hijacked")

        @cli.command("hello-plugin")
        def hello():
            print("hello from a plugin")

    def newer(register):  # register(command, name=None), like every other hook
        def greet(who: str = "world"):
            print(f"greetings, {who}")

        register(greet)
        register(greet, name="hello-plugin")  # taken by the plugin before it

    found = install(
        FakeEntryPoint("cmds", plugin(register_commands=older)),
        FakeEntryPoint("cmds2", plugin(register_commands=newer)),
    )
    code, out, _ = cli("hello-plugin")
    assert code == 0 and "hello from a plugin" in out
    assert cli("greet", "--who", "you").out.strip() == "greetings, you"
    shown = report(cli)
    assert shown["cmds"]["provides"]["commands"] == ["hello-plugin"] and shown["cmds2"]["provides"]["commands"] == [
        "greet"
    ]
    assert shown["cmds"]["warnings"] == ["command 'train' is already taken; not added"]
    assert shown["cmds2"]["warnings"] == ["command 'hello-plugin' is already taken; not added"]
    code, out, err = cli("train", "vae", "--dataset", "nosuch")
    assert "hijacked" not in out and "unknown dataset 'nosuch'" in err
    assert found["cmds"].status == "ok"


def test_main_twice_in_one_process_finds_no_clash(cli):
    """The command line is built afresh by every main(): a notebook or a test may call it again."""
    assert cli("--help").code == 0
    shown = report(cli)  # the second main() of this process
    assert shown["judge"]["provides"]["commands"] == ["judge"] and shown["cvae"]["provides"]["commands"] == ["complete"]
    assert [w for p in shown.values() for w in p["warnings"] if "already taken" in w] == []
    assert cli("judge", "--help").code == 0 and cli("complete", "--help").code == 0


def test_a_plugin_dataset_trains_any_model(install, quiet):
    def load(data_dir, arg):
        g = torch.Generator().manual_seed(1)
        x = torch.randint(0, 256, (300, 3, 8, 8), dtype=torch.uint8, generator=g)
        return genkit.ImageDataset(name="noise", train_x=x[:240], test_x=x[240:], source="generated")

    found = install(
        FakeEntryPoint(
            "noise",
            plugin(register_datasets=lambda register: register(genkit.DatasetSpec("noise", load, "random RGB"))),
        )
    )
    assert found["noise"].provides == {"datasets": ["noise"]}
    result = genkit.train(
        "vae", overrides={"train.dataset": "noise", "train.epochs": 1, "train.val_size": 40}, reporter=quiet
    )
    assert result.run.read_json("manifest.json")["dataset"] == "noise"
    pic = genkit.sample(result.run.path, 4)
    assert pic.images.shape == (4, 3, 8, 8)


def test_the_plugins_table_shows_each_plugins_contract_and_its_deprecated_uses(install, cli, monkeypatch):
    """A plugin using a deprecated form is marked in the table, with the use and its replacement
    below it (the frozen plugins check the same through the console script's ``--json``)."""
    monkeypatch.setenv("COLUMNS", "200")
    old = types.ModuleType("old_form_plugin")  # the module the deprecated code is in names the plugin

    def register_models(register):
        class OldPixels(genkit.GenerativeModel):
            __module__ = "old_form_plugin"

            def prepare_batch(self, batch, *, train, generator=None):  # contract 1.0's form
                return super().prepare_batch(batch, generator=generator)

        register(genkit.ModelSpec(name="old-pixels", config=pydantic.BaseModel, build=OldPixels))

    old.GENKIT_CONTRACT = "1.0"
    old.register_models = genkit.hookimpl(register_models)
    with pytest.warns(genkit.GenkitDeprecationWarning, match="prepare_batch naming a train argument"):
        install(FakeEntryPoint("oldform", old, package="old_form_plugin"))
        code, out, _ = cli("plugins")
    assert code == 0
    row = next(line for line in out.splitlines() if "oldform" in line and "old_form_plugin" in line)
    assert "1.0 (deprecated use)" in row
    said = " ".join(out.split())
    used = r"oldform \(old_form_plugin\): deprecated: \S*OldPixels\.prepare_batch naming a train argument"
    assert re.search(used, said)
    assert "define prepare_batch(self, batch, *, generator=None)" in said
    shown = report(cli)
    assert shown["oldform"]["deprecations"] and not shown["genkit"]["deprecations"]  # only the plugin that used it
