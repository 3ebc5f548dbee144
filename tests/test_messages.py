"""The message catalogues: one place for every user-facing string, translations kept in step."""

import re
import string
from pathlib import Path

import pytest

from backproplab import messages

ROOT = Path(__file__).resolve().parents[1]


def fields(template):
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("lang", sorted(set(messages.CATALOGUES) - {"en"}))
def test_translations_use_known_keys_and_the_same_placeholders(lang):
    catalogue = messages.CATALOGUES[lang]
    assert set(catalogue) <= set(messages.EN), set(catalogue) - set(messages.EN)
    for key, template in catalogue.items():
        assert fields(template) == fields(messages.EN[key]), key


def test_pt_br_is_complete():
    assert set(messages.PT_BR) == set(messages.EN), sorted(set(messages.EN) ^ set(messages.PT_BR))


def test_every_key_the_code_asks_for_exists():
    used = set()
    for path in list((ROOT / "backproplab").rglob("*.py")) + list((ROOT / "autograder").rglob("*.py")):
        code = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'text\(\s*"([a-z_]+\.[a-z_]+)"', code))
        if "mistakes" in code:  # keys of a check's mistakes dict are looked up as "mistake.<key>"
            used |= {"mistake." + k for k in re.findall(r'^\s+"([a-z_]+)": ', code, re.M)
                     if "mistake." + k in messages.EN or k.endswith("_difference")}
    missing = sorted(k for k in used if k not in messages.EN)
    assert not missing, missing
    unused = sorted(k for k in messages.EN if k.startswith("check.") and k not in used)
    assert not unused, f"messages nobody uses: {unused}"


def test_unknown_language_falls_back_to_english(monkeypatch):
    monkeypatch.setenv("BACKPROPLAB_LANG", "xx")
    assert messages.language() == "en"
    monkeypatch.setenv("BACKPROPLAB_LANG", "pt-BR")
    assert messages.language() == "pt_BR"


def test_no_key_is_written_twice_in_a_catalogue():
    import ast

    tree = ast.parse((ROOT / "backproplab" / "messages.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            twice = sorted({k for k in keys if keys.count(k) > 1})
            assert not twice, f"written twice (the later silently wins): {twice}"


def test_no_key_is_written_twice():
    """A key written twice in a catalogue silently keeps only its last sentence."""
    import ast
    import collections

    tree = ast.parse((ROOT / "backproplab" / "messages.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            twice = sorted(k for k, n in collections.Counter(keys).items() if n > 1)
            assert not twice, f"keys written twice in one catalogue (line {node.lineno}): {twice}"
