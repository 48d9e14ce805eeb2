"""The multiverse suite: its grid of protocols, and its reuse of the runs other suites made."""

from __future__ import annotations

import collections

from benchmark.suites import MULTIVERSE_AXES, SUITES, expand, multiverse_protocols, protocol_row
from benchmark.suites import Row


def test_the_grid_is_every_combination_of_the_axes_default_first():
    protocols = multiverse_protocols()
    assert [len(values) for _, values in MULTIVERSE_AXES] == [3, 3, 2]
    assert len(protocols) == 3 * 3 * 2 == len(set(protocols))
    assert protocols[0].is_default and not any(p.is_default for p in protocols[1:])
    assert protocols[1].values() == {"gradient clipping": "30 (the rule)", "edge-net fitting input": "fixed peak 0.9",
                                     "SEMEDA |.| of Eq. (6)": "mean over channels"}  # fmt: skip


def test_each_method_varies_with_the_choices_that_apply_to_it_only():
    rows = SUITES["multiverse"].rows
    per_method = collections.Counter(r.method for r in rows)
    # PPCE: clipping (3); PPCE on edges: clipping x input (3 x 2: the literal input cannot
    # run); SEMEDA: 3 x 2 x 2 per lambda row.
    assert per_method == {"ppce": 3, "ppce_edges": 6, "semeda": 3 * 12}
    assert not any(r.overrides_dict().get("edge_net_peak") == "literal" for r in rows)
    for r in rows:
        settings, params = r.overrides_dict(), r.params_dict()
        if r.method == "ppce":
            assert set(settings) <= {"grad_clip"} and not params
        if r.method == "ppce_edges":
            assert "channels" not in params
    literal_clip10 = [m for m in multiverse_protocols() if m.values()["gradient clipping"] == "10"
                      and m.values()["edge-net fitting input"] == "literal"]  # fmt: skip
    row = protocol_row(Row.of("ppce"), literal_clip10[0])
    assert row == Row.of("ppce", {"grad_clip": 10.0})  # PPCE's run is the clipping value's alone


def test_the_runs_other_suites_made_are_reused_by_run_id():
    multiverse = set(expand("multiverse"))
    assert len(multiverse) == 3 * (3 + 6 + 36)
    table1 = [s for s in expand("table1") if s.label() in {"ppce", "semeda(1,0,0) before ReLU", "semeda(0,1,0) before ReLU",
                                                           "semeda(1,0.5,0.25) before ReLU", "ppce_edges(1)"}]  # fmt: skip
    assert len(table1) == 15 and set(table1) <= multiverse
    # every choice but the learning rate and SEMEDA's distance and psi^3, which the multiverse does not vary
    sensitivity = [s for s in expand("sensitivity") if s.settings.lr == 0.005 and not {"norm", "third"} & set(dict(s.params))
                   and not (s.method == "semeda" and dict(s.params)["lambdas"] == (0, 0, 1))]  # fmt: skip
    assert len(sensitivity) == 3 * 17 and set(sensitivity) <= multiverse
    assert {s.run_id("v") for s in sensitivity} <= {s.run_id("v") for s in multiverse}
