from __future__ import annotations

from pathlib import Path

import pytest

from nlp.analyzer import Analyzer
from nlp.lexicon import DATA_DIR, DICTIONARY_FILES, DictionaryError, parse_dictionary


@pytest.mark.parametrize(
    ("filename", "content", "line", "field", "fragment"),
    [
        ("faults.txt", "漏水 | normal\n冒烟 | hgih | 有烟\n", 2, "urgency", "'hgih' is not one of"),
        ("devices.txt", "# comment\n\n | 空调机\n", 3, "name", "is empty"),
        ("devices.txt", "空调 | 冷气机,,挂机\n", 1, "aliases", "empty alias"),
        ("devices.txt", "空调 | 冷气机 | extra\n", 1, "line", "3 fields"),
        ("stores.txt", "人民广场店\n静安寺店\n人民广场店 | 人广\n", 3, "name", "duplicates line 1"),
        ("brands.txt", "格力 | g\n", 1, "aliases", "too short"),
    ],
)
def test_validation_errors_name_file_line_and_field(
    tmp_path: Path, filename: str, content: str, line: int, field: str, fragment: str
) -> None:
    path = tmp_path / filename
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DictionaryError) as info:
        Analyzer.load(tmp_path)
    err = info.value
    assert (err.path, err.line, err.field) == (str(path), line, field)
    assert str(err).startswith(f"{path}:{line}: field '{field}': ")
    assert fragment in str(err)


def test_missing_config_dir_is_reported(tmp_path: Path) -> None:
    with pytest.raises(DictionaryError, match="does not exist"):
        Analyzer.load(tmp_path / "nope")


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "devices.txt").write_bytes("空调".encode("gbk"))
    with pytest.raises(DictionaryError, match=r"devices\.txt:0: field 'file': not valid UTF-8"):
        Analyzer.load(tmp_path)


@pytest.mark.parametrize("filename", DICTIONARY_FILES)
def test_shipped_and_repo_config_dictionaries_are_valid(filename: str) -> None:
    assert parse_dictionary(DATA_DIR / filename)
    repo_config = Path(__file__).resolve().parents[2] / "config" / "nlp" / filename
    assert repo_config.is_file()
    parse_dictionary(repo_config)


def test_config_fault_overrides_shipped_urgency(tmp_path: Path) -> None:
    from tests.nlp.conftest import NOW

    (tmp_path / "faults.txt").write_text("漏水 | urgent | 水漫金山\n", encoding="utf-8")
    assert Analyzer.load(tmp_path).analyze("冰柜漏水了", NOW).urgency == "urgent"
