"""config/dispatch.yaml: loads, and every mistake is reported as file:line: field: problem."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml

from handlers.dispatch.engine import DispatchConfigError, Weights
from handlers.dispatch.config import SCORING_PATH as DEFAULT_CONFIG, load_scoring_config as load_config, load_technicians

VALID = """\
version: 1
location_fresh_hours: 6
normalisation:
  distance_half_km: 5
weights:
  distance: 0.3
  skill: 0.2
categories:
  install:
    weights:
      skill: 0.5
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "dispatch.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def problems(tmp_path: Path, text: str) -> list[str]:
    p = write(tmp_path, text)
    with pytest.raises(DispatchConfigError) as exc:
        load_config(p)
    assert all(src == str(p) for src, *_ in exc.value.problems)
    return str(exc.value).splitlines()


def test_shipped_config_loads_with_category_overrides():
    config = load_config(DEFAULT_CONFIG)
    install = config.profile("install")
    default = config.profile("unknown-category")
    assert install.weights.skill > default.weights.skill
    assert install.weights.load == default.weights.load
    assert config.skill_labels["aircon"] == "空调"
    assert default.weights == config.weights


def test_valid_config_merges_category_over_defaults(tmp_path):
    config = load_config(write(tmp_path, VALID))
    assert config.weights == Weights(distance=0.3, skill=0.2)
    assert config.profile("install").weights.skill == 0.5
    assert config.profile("install").weights.distance == 0.3


def test_negative_weight_names_file_line_and_field(tmp_path):
    p = write(tmp_path, VALID.replace("distance: 0.3", "distance: -0.3"))
    with pytest.raises(DispatchConfigError) as exc:
        load_config(p)
    assert str(exc.value) == f"{p}:6: weights.distance: must be >= 0, got -0.3"


def test_unknown_keys_and_typos_are_errors(tmp_path):
    lines = problems(tmp_path, VALID.replace("  skill: 0.2", "  skil: 0.2").replace(
        "    weights:\n      skill: 0.5", "    weight:\n      skill: 0.5"))
    assert any(line.endswith(":7: weights.skil: unknown key (allowed: distance, skill, load, response, "
                             "rating, fairness)") for line in lines)
    assert any(":10: categories.install.weight: unknown key" in line for line in lines)


def test_non_number_and_bad_ranges(tmp_path):
    lines = problems(tmp_path, """\
        version: 1
        weights:
          rating: high
        normalisation:
          response_unknown: 1.5
          distance_half_km: 0
        top_k: 2.5
    """)
    joined = "\n".join(lines)
    assert ":3: weights.rating: must be a number, got 'high'" in joined
    assert ":5: normalisation.response_unknown: must be <= 1, got 1.5" in joined
    assert ":6: normalisation.distance_half_km: must be > 0, got 0" in joined
    assert ":7: top_k: must be an integer, got 2.5" in joined


def test_distance_unknown_at_top_level_and_per_category(tmp_path):
    config = load_config(write(tmp_path, """\
        normalisation:
          distance_unknown: 0.3
        categories:
          install:
            normalisation:
              distance_unknown: 0.8
    """))
    assert config.normalisation.distance_unknown == 0.3
    assert config.profile("install").norm.distance_unknown == 0.8
    assert config.profile("repair").norm.distance_unknown == 0.3
    assert load_config(DEFAULT_CONFIG).normalisation.distance_unknown == 0.5  # default, not in the file
    lines = problems(tmp_path, """\
        normalisation:
          distance_unknown: 1.2
        categories:
          install:
            normalisation:
              distance_unknown: -1
    """)
    joined = "\n".join(lines)
    assert ":2: normalisation.distance_unknown: must be <= 1, got 1.2" in joined
    assert ":6: categories.install.normalisation.distance_unknown: must be >= 0, got -1" in joined


def test_cross_field_rules(tmp_path):
    lines = problems(tmp_path, """\
        normalisation:
          response_fast_s: 900
          response_slow_s: 600
        weights: {distance: 0, skill: 0, load: 0, response: 0, rating: 0, fairness: 0}
    """)
    joined = "\n".join(lines)
    assert "weights: at least one weight must be > 0" in joined
    assert "normalisation: need 0 <= response_fast_s < response_slow_s" in joined


def test_category_override_validated_after_merge(tmp_path):
    lines = problems(tmp_path, """\
        weights: {distance: 1, skill: 0, load: 0, response: 0, rating: 0, fairness: 0}
        categories:
          install:
            weights: {distance: 0}
    """)
    assert lines == [f"{tmp_path / 'dispatch.yaml'}:3: categories.install.weights: at least one weight must be > 0"]


def test_yaml_syntax_error_and_duplicate_key(tmp_path):
    lines = problems(tmp_path, "weights:\n  distance: [1,\n")
    assert lines[0].startswith(f"{tmp_path / 'dispatch.yaml'}:") and "<yaml>" in lines[0]
    lines = problems(tmp_path, "weights:\n  distance: 1\n  distance: 2\n")
    assert lines == [f"{tmp_path / 'dispatch.yaml'}:3: weights.distance: duplicate key"]


def test_load_technicians_from_json_and_yaml(tmp_path):
    rows = """\
    - id: T1
      name: 李师傅
      skills: {aircon: 4}
      regions: ["310100"]
      home: [31.2, 121.45]
      last_known: {lat: 31.21, lon: 121.46}
      last_seen_at: "2026-11-18T09:00:00+08:00"
      shifts: [{days: mon-fri, start: "22:00", end: "06:00"}, {days: "sat,sun", start: "00:00", end: "24:00"}]
      leave: [{from: 2026-12-01, to: 2026-12-03}]
      capacity: 5
      load: 1
      rating: 4.8
      response_median_s: 480
      jobs_today: 2
    """
    p = tmp_path / "techs.yaml"
    p.write_text(textwrap.dedent(rows), encoding="utf-8")
    (t,) = load_technicians(p)
    assert t.name == "李师傅" and t.skills["aircon"] == 4 and t.regions == ("310100",)
    assert len(t.shifts) == 7 and t.shifts[0].crosses_midnight
    assert t.leave[0].end.isoformat() == "2026-12-03"
    j = tmp_path / "techs.json"
    j.write_text(json.dumps(yaml.safe_load(textwrap.dedent(rows)), default=str), encoding="utf-8")
    assert load_technicians(j)[0] == t


def test_unreadable_values_and_block_values_name_the_key_line(tmp_path):
    lines = problems(tmp_path, "weights:\n  distance: 2026-02-30\n")
    assert lines == [f"{tmp_path / 'dispatch.yaml'}:2: weights.distance: cannot read '2026-02-30' "
                     f"(day is out of range for month)"]
    lines = problems(tmp_path, "version: 1\nweights:\n  - 1\n")
    assert lines == [f"{tmp_path / 'dispatch.yaml'}:2: weights: must be a mapping"]
    lines = problems(tmp_path, "# nothing yet\n")
    assert lines == [f"{tmp_path / 'dispatch.yaml'}:1: <root>: empty file"]
