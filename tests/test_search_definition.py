"""The weight search's definition beside its trials: written, merged, replaced, read back exactly."""

import json
from fractions import Fraction

import pytest

from benchmark.leaderboard import Leaderboard
from benchmark.search_definition import SEARCHES_FOLDER, load_definitions, replay, write_definition


def test_a_definition_round_trips_with_the_exact_bound(tmp_path):
    lb = Leaderboard(methods=("ppce", "dice", "focal"), datasets=("streets",), grid=(1 / 3, 1.0, 3.0), scale="smoke")
    path = write_definition(tmp_path, lb.definition("streets"))
    assert path.parent.name == SEARCHES_FOLDER and path.name.startswith("streets-")
    (read,) = load_definitions(tmp_path)
    assert read == lb.definition("streets")
    assert read.grid == (1 / 3, 1.0, 3.0) and read.rungs == (3, 6, 12) and read.methods == ("dice", "focal")
    assert read.bound == (Fraction(1, 2187), Fraction(2187))  # exact: 1/2187 itself stays within the bound
    assert json.loads(path.read_text())["bound"] == ["1/2187", "2187"]


def test_a_later_command_adds_its_methods_or_replaces_another_grid(tmp_path):
    first = Leaderboard(methods=("ppce", "dice"), datasets=("streets",), grid=(1 / 3, 1.0, 3.0), scale="smoke")
    write_definition(tmp_path, first.definition("streets"))
    write_definition(tmp_path, Leaderboard(methods=("ppce", "focal"), datasets=("streets",), grid=(1 / 3, 1.0, 3.0),
                                           scale="smoke").definition("streets"))  # fmt: skip
    (merged,) = load_definitions(tmp_path)
    assert merged.methods == ("dice", "focal")
    write_definition(tmp_path, Leaderboard(methods=("ppce", "focal"), datasets=("streets",), grid=(1.0, 3.0), scale="smoke").definition("streets"))
    (replaced,) = load_definitions(tmp_path)
    assert (replaced.grid, replaced.methods) == ((1.0, 3.0), ("focal",))
    # another context (other settings) is another file
    write_definition(tmp_path, Leaderboard(methods=("ppce", "dice"), datasets=("streets",), scale="smoke",
                                           overrides=(("lr", 0.1),)).definition("streets"))  # fmt: skip
    assert len(load_definitions(tmp_path)) == 2


def test_replay_by_hand_on_the_definitions_grid():
    lb = Leaderboard(methods=("ppce", "dice"), datasets=("streets",), grid=(1 / 3, 1.0, 3.0), scale="smoke")
    definition = lb.definition("streets")
    # rung 1 (step 3): 1x best of three, the best third (1) goes on; it alone reaches 6 and 12: selected, inside the grid
    scores = {(1 / 3, 3): 0.2, (1.0, 3): 0.4, (3.0, 3): 0.3, (1.0, 6): 0.5, (1.0, 12): 0.6}
    state = replay(definition, scores)
    assert state.selected == 1.0 and not state.bound_reached and state.steps_spent == 12 + 3 + 3
    # 3x best at rung 1 and selected: at the grid's edge, so 9x is asked for at rung 1
    scores = {(1 / 3, 3): 0.2, (1.0, 3): 0.3, (3.0, 3): 0.4, (3.0, 6): 0.5, (3.0, 12): 0.6}
    state = replay(definition, scores)
    assert (state.selected, state.provisional, state.todo) == (None, 3.0, (9.0,))


def test_an_unreadable_definition_is_a_warning(tmp_path, capsys):
    (tmp_path / SEARCHES_FOLDER).mkdir()
    (tmp_path / SEARCHES_FOLDER / "streets-0.json").write_text("{not json")
    assert load_definitions(tmp_path) == []
    assert "search definition" in capsys.readouterr().out
