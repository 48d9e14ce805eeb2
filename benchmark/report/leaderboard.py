"""The leaderboard: every loss at the weight its search selected, against PPCE on paired seeds.

Everything is re-derived from the records: the search's trials (scored on the tuning split,
``split == "tune"``) and the search's definition written beside them replay the rung rule of
``benchmark.tuning`` and its extension beyond an edge selection to the selected multiplier
(``search_definition.replay``, the runner's own replay), and the seed runs at that weight (reported split)
give the row, with the search's grid position and budget. One section per context (dataset,
backbone, scale, initialisation, settings) that holds search trials.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from benchmark.overrides import overrides_text
from benchmark.report.cells import COMMON_NOTE, diff_text, holm_text, metric_headers, metric_text, ours_text
from benchmark.report.output import PartInput, PartOutput
from benchmark.report.render import Document, Section, frame_csv, latex
from benchmark.report.scope import plumbing_banner
from benchmark.report.stats import SeedMetrics, add_holm, holm
from benchmark.report.tidy import BASELINE, CONTEXT, describe_context, lambdas_text, registered, reported, sorted_rows, text_tokens
from benchmark.spec import RowKey, row_key, row_label, scale_settings
from benchmark.search_definition import SEARCHES_FOLDER, SearchDefinition, definition_context, replay, trial_score
from benchmark.term_scales import method_scales_text
from benchmark.tuning import (
    DEFAULT_REPORTED_SEEDS,
    EXTENSION_BOUND,
    SearchState,
    folded_losses,
    grid_budget_steps,
    grid_text,
    lr_multiplier,
    position_text,
    scaled_params,
)

__all__ = ["TUNED_PPCE_LABEL", "budget_points", "leaderboard_document", "leaderboard_latex", "leaderboard_markdown", "leaderboard_sections",
           "leaderboard_table", "lr_trials", "search_trials", "tuned_context", "weight_table", "write_leaderboard"]  # fmt: skip

#: The label of the tuned baseline's row: PPCE at the learning rate its search selected.
TUNED_PPCE_LABEL = "ppce, tuned learning rate"


def _context_text(ctx: tuple) -> str:
    c = dict(zip(CONTEXT, ctx))
    return describe_context(c["dataset"], c["scale"], c["backbone"], c["init"], c["overrides"])


def search_trials(tidy: pd.DataFrame, definitions: list[SearchDefinition] = ()) -> pd.DataFrame:
    """The searches' trials: tuning-split runs with a weight multiplier, and those of a
    learning-rate search of ``definitions`` (``lr_trials``), one per (context, method,
    multiplier, step), in context order; ``searched``: "weight" or "lr"."""
    if tidy.empty or "split" not in tidy.columns:
        return pd.DataFrame()
    t = tidy[(tidy["split"] == "tune") & tidy["multiplier"].notna()].assign(searched="weight")
    t = pd.concat([t, lr_trials(tidy, definitions)], ignore_index=True) if definitions else t
    return sorted_rows(t, CONTEXT + ["method", "multiplier", "step"]) if len(t) else pd.DataFrame()


def _lr_of(overrides: str, scale: str, dataset: str) -> float:
    """The learning rate a context's overrides text names (its scale's when it names none)."""
    for token in text_tokens(overrides):
        if token.startswith("lr="):
            return float(token[3:])
    return scale_settings(scale, dataset).lr


def _without_lr(overrides: str) -> frozenset[str]:
    return frozenset(t for t in text_tokens(overrides) if not t.startswith("lr="))


def lr_trials(tidy: pd.DataFrame, definitions: list[SearchDefinition]) -> pd.DataFrame:
    """The trials of the learning-rate searches (a definition's ``lr_methods``, PPCE): tuning-split
    runs of such a method whose settings are the definition's but for the learning rate, given
    the definition's context and as ``multiplier`` their learning rate over the definition's."""
    if tidy.empty or "split" not in tidy.columns:
        return pd.DataFrame()
    tune = tidy[tidy["split"] == "tune"]
    found = []
    for d in definitions:
        if not d.lr_methods:
            continue
        ctx = definition_context(d, overrides_text)
        base_lr, rest = float(d.settings["lr"]), _without_lr(ctx[-1])
        same = (tune[CONTEXT[:-1]] == pd.Series(ctx[:-1], index=CONTEXT[:-1])).all(axis=1) & tune["method"].isin(d.lr_methods)
        for _, r in tune[same].iterrows():
            if _without_lr(r["overrides"]) == rest:
                lr = _lr_of(r["overrides"], d.scale, d.dataset)
                found.append({**r.to_dict(), "overrides": ctx[-1], "multiplier": lr_multiplier(lr, base_lr), "searched": "lr"})
    return pd.DataFrame(found)


def tuned_context(definition: SearchDefinition, multiplier: float) -> tuple:
    """The context of the runs at ``multiplier`` of a learning-rate search's definition: its
    own, the learning rate times ``multiplier`` (as ``tuning.scaled_lr`` makes it)."""
    settings = {**definition.settings, "lr": multiplier * float(definition.settings["lr"])}
    return definition_context(SearchDefinition(**{**definition.__dict__, "settings": settings}), overrides_text)


def _searches(trials: pd.DataFrame, definitions: list[SearchDefinition], warnings: list[str] | None = None):
    """Per (context, method, searched): the search state its definition's rule reaches on its
    trials (``search_definition.replay``, as the runner replays it), the definition (the grid
    the search was given, the rungs). Trials with no definition beside them are left out, with
    a warning."""
    if trials.empty:
        return
    by_context = {definition_context(d, overrides_text): d for d in definitions}
    if "searched" not in trials.columns:
        trials = trials.assign(searched="weight")
    for keys, g in trials.groupby(CONTEXT + ["method", "searched"], sort=False):
        ctx, method, searched = tuple(keys[:-2]), keys[-2], keys[-1]
        definition = by_context.get(ctx)
        if definition is None or method not in (definition.methods if searched == "weight" else definition.lr_methods):
            if warnings is not None:
                warnings.append(f"the weight-search trials of {method} ({_context_text(ctx)}) have no search definition beside them "
                                f"({SEARCHES_FOLDER}/); run the leaderboard command on these records again to write it")  # fmt: skip
            continue
        scores = {(float(r.multiplier), int(r.step)): trial_score(r.status, r.miou) for r in g.itertuples()}
        yield ctx, method, searched, replay(definition, scores), definition


def _selected(trials: pd.DataFrame, ctx: tuple, method: str, multiplier: float) -> tuple[RowKey, dict, str]:
    """The row key, parameters and label of ``method`` at its selected ``multiplier``: from its
    class where it is registered here, else from its search trial at that multiplier, whose
    record holds them, so that a method the report cannot import keeps its row."""
    if registered(method):
        params = scaled_params(method, multiplier)
        key = row_key(method, params)
        return key, params, row_label(key)
    mine = trials[(trials["method"] == method) & (trials[CONTEXT] == pd.Series(ctx, index=CONTEXT)).all(axis=1)]
    row = next(r for _, r in mine.iterrows() if math.isclose(r["multiplier"], multiplier, rel_tol=1e-9))
    return (method, row["params"]), json.loads(row["params"]), row["label"]


def _shown(state: SearchState | None) -> float | None:
    """The weight a row shows: the selection, or while an extension is under way the
    selection that asked for it (marked "(grid edge)" in the row)."""
    if state is None:
        return None
    return state.selected if state.selected is not None else state.provisional


def _diverged_selection(trials: pd.DataFrame, ctx: tuple, method: str, state: SearchState) -> bool:
    """Whether the selected trial, at the last rung, is marked diverged by the suite's rule:
    then no weight the search tried trained the loss (the selection is the best it found)."""
    if state.selected is None or "diverged" not in trials.columns or not state.seen:
        return False
    last = max(step for _, step in state.seen)
    mine = trials[(trials["method"] == method) & (trials[CONTEXT] == pd.Series(ctx, index=CONTEXT)).all(axis=1) & (trials["step"] == last)]
    hit = mine[[math.isclose(m, state.selected, rel_tol=1e-9) for m in mine["multiplier"]]]
    return bool(hit["diverged"].fillna(False).astype(bool).any()) if len(hit) else False


def _empty_stats(note: str) -> dict:
    return {"ours_mean": float("nan"), "ours_std": float("nan"), "n": 0, "n_failed": 0, "missing_seeds": "", "seeds": "", "diff_n": 0,
            "diff_note": note, "diff_p": float("nan"), "n_diverged": 0, "diff_seeds": ""}  # fmt: skip


def _tuned_key(multiplier: float) -> RowKey:
    """The report's key of the tuned PPCE's row (its runs lie in another context: their
    learning rate differs, and the report files them under the section's with this key)."""
    return ("ppce", json.dumps({"lr_multiplier": grid_text(multiplier)}))


#: The columns of a row's paired difference to the tuned PPCE (``tuned_`` + these).
_TUNED_COLUMNS = ("diff_seeds", "diff_n", "diff_mean", "diff_ci_low", "diff_ci_high", "diff_note", "diff_p")


def _weight_text(state: SearchState, shown: float | None, rungs, searched: str) -> str:
    suffix = " (lr)" if searched == "lr" else ""
    if state.selected is not None:
        return grid_text(state.selected) + suffix + (" (bound reached)" if state.bound_reached else "")
    if shown is not None:
        return f"{grid_text(shown)}{suffix} (grid edge)"
    return f"rung {state.rung + 1} of {len(rungs)}"


def leaderboard_table(tidy: pd.DataFrame, definitions: list[SearchDefinition], warnings: list[str] | None = None) -> pd.DataFrame:
    """One row per method and search context: the selected multiplier, where it lies in the
    grid searched (``search``: interior, extended to a multiplier, bound reached, or how far
    an unfinished search is), the search's budget (``trials_run``, ``steps_spent``), the seed
    runs at it (mean, std, paired difference to PPCE with its interval and Holm's verdict over
    the section's methods, the boundary metrics), sorted by mIoU; PPCE is the baseline row.

    The fair race's rules (docs/leaderboard.md): a row's reported runs are its seed runs whose
    seed no search trial of the context trained (the search's winner is never one of them);
    the tuned PPCE (its learning rate searched, ``searched == "lr"``) is a row, and every row
    carries its paired difference to it (``tuned_diff_*``, ``tuned_holm``) beside the one to
    the default PPCE; a loss equal to another row's (``tuning.folded_losses``: Tversky at 0.5/0.5
    is Dice) is that row (``same_as``), counted once in Holm; and each row's selection at the
    common budget (the grid given, before any extension: ``budget_*``) where an extension
    moved it.

    A search whose extension is under way shows the weight that asked for it, "(grid edge)",
    with that weight's seed runs where they exist: the best weight may lie beyond it."""
    warnings = [] if warnings is None else warnings
    trials = search_trials(tidy, definitions)
    if trials.empty:
        return pd.DataFrame()
    seeds = reported(tidy)
    out = []
    sections: dict[tuple, list[tuple]] = {}
    for ctx, method, searched, state, definition in _searches(trials, definitions, warnings):
        sections.setdefault(ctx, []).append((method, searched, state, definition))
    low, high = (grid_text(float(b)) for b in EXTENSION_BOUND)
    for ctx, searches in sections.items():
        definition = searches[0][3]
        base, rungs = definition.grid, definition.rungs
        in_ctx = seeds[(seeds[CONTEXT] == pd.Series(ctx, index=CONTEXT)).all(axis=1)] if len(seeds) else seeds
        mine = trials[(trials[CONTEXT] == pd.Series(ctx, index=CONTEXT)).all(axis=1)]
        searched_seeds = sorted({int(s) for s in mine["seed"]})
        weights = {m: st for m, kind, st, _ in searches if kind == "weight"}
        folded = folded_losses(weights)
        tuned = next((st for m, kind, st, _ in searches if kind == "lr" and m == "ppce"), None)
        # the row keys of the section, and the tuned PPCE's runs filed under the section's context
        keys = {BASELINE}
        common: dict[str, float] = {}
        for method, state in weights.items():
            if method in folded:
                continue
            if _shown(state) is not None:
                keys.add(_selected(trials, ctx, method, _shown(state))[0])
            if state.selected is not None and state.budget_selected is not None and not math.isclose(state.budget_selected, state.selected, rel_tol=1e-9):
                common[method] = state.budget_selected
                keys.add(_selected(trials, ctx, method, state.budget_selected)[0])
        frame = in_ctx[in_ctx.apply(lambda r: (r["method"], r["params"]) in keys, axis=1)] if len(in_ctx) else in_ctx
        tuned_shown = _shown(tuned)
        # the tuned PPCE at 1x is the default PPCE: the same runs, one row's key (no comparison of a run with itself)
        at_one = tuned_shown is not None and math.isclose(tuned_shown, 1.0, rel_tol=1e-9)
        if tuned_shown is not None and not at_one:
            at = tuned_context(definition, tuned_shown)
            runs = seeds[(seeds[CONTEXT] == pd.Series(at, index=CONTEXT)).all(axis=1) & (seeds["method"] == "ppce")] if len(seeds) else seeds
            runs = runs.assign(**dict(zip(CONTEXT, ctx)), params=_tuned_key(tuned_shown)[1])
            frame = pd.concat([frame, runs], ignore_index=True) if len(runs) else frame
        # The reported runs: the definition's seeds, never one a search trial of the context trained;
        # PPCE's runs at other seeds (Table 1's seed rule adds them) enter no row.
        stated = [s for s in (definition.seeds or DEFAULT_REPORTED_SEEDS) if s not in searched_seeds]
        if len(frame):
            frame = frame[frame["seed"].isin(stated)]
        metrics = SeedMetrics(frame, warnings) if len(frame) else None
        reported_seeds_text = ", ".join(map(str, stated))
        twins = "".join(f" {m} is {t} term for term at its defaults (StructureLoss.same_as): one row, one test." for m, t in folded.items())
        note = (
            f"Ours: {_context_text(ctx)}. Each loss's weight was searched as a multiplier on its default lambdas over "
            f"{', '.join(grid_text(m) for m in base)} (seed {', '.join(map(str, searched_seeds))}, scored by mIoU on the tuning split), "
            f"cut by successive halving at steps {', '.join(map(str, rungs))} (the best third kept at each rung), and PPCE's learning "
            "rate by the same rule (the tuned PPCE, '(lr)'); then each was run on the reported split at its selection with seeds "
            f"{reported_seeds_text}, never a seed the search trained, paired by seed. Where the grid's smallest or largest multiplier "
            "was selected, the next one beyond it (a factor of 3) joined the grid and the rule was replayed on the grown grid, while "
            f"the selection stayed at an edge, within {low}..{high}. Search: 'interior' (inside the grid above), 'extended to m' "
            "(inside a grid widened to m), 'bound reached' (an edge with no multiplier left within the bound: the best weight "
            "may lie beyond it), 'extending' (an extension under way: the weight shown, '(grid edge)', is provisional); "
            "'selection diverged': the best trial the search found diverged, so no weight it tried trained the loss. "
            "Budget: trials run and training steps spent (each trial counted to the furthest step it reached). "
            f"At {grid_budget_steps(len(base), rungs):,} steps: the selection on the grid given, before any extension (the "
            "budget every search spends), with its mIoU and Δ PPCE where an extension moved the selection; '=' where it did not. "
            "Δ tuned: mIoU minus the tuned PPCE's on the same seed, Holm over the rows compared with it"
            + (" (its search selected 1x: it is the default PPCE, the same runs)." if at_one else ".") + twins
        )
        rows = []
        entries = [("ppce", "-", None)] + ([("ppce", "lr", tuned)] if tuned is not None else [])
        entries += [(m, "weight", st) for m, st in sorted(weights.items()) if m not in folded]
        tuned_key = (BASELINE if at_one else _tuned_key(tuned_shown)) if tuned_shown is not None else None
        for method, searched, state in entries:
            shown = _shown(state)
            if searched == "lr":
                picked = (tuned_key, {}, TUNED_PPCE_LABEL) if shown is not None else None
            else:
                picked = _selected(trials, ctx, method, shown) if shown is not None else None
            key = BASELINE if state is None else (picked[0] if picked is not None else None)
            stats = metrics.stats(ctx, key) if (metrics is not None and key is not None) else None
            if stats is None:
                stats = _empty_stats("no seed run yet" if state is None or shown is not None else "search not finished")
            against = metrics.stats(ctx, key, baseline=tuned_key) if (metrics is not None and key is not None and tuned_key is not None) else {}
            stats.update({f"tuned_{c}": against.get(c, float("nan") if c in ("diff_mean", "diff_ci_low", "diff_ci_high", "diff_p") else "")
                          for c in _TUNED_COLUMNS})  # fmt: skip
            if not against:
                stats.update(tuned_diff_n=0, tuned_diff_note="no tuned PPCE yet")
            if state is None:
                weight, search, budget = "-", "-", {"trials_run": 0, "steps_spent": 0}
            else:
                search = position_text(state, base, rungs)
                if _diverged_selection(trials[trials["searched"] == searched], ctx, method, state):
                    search += "; selection diverged"
                budget = {"trials_run": state.trials_run, "steps_spent": state.steps_spent}
                weight = _weight_text(state, shown, rungs, searched)
            budget_row = {"budget_multiplier": "=" if state is not None and state.selected is not None else "-", "budget_ours_mean": float("nan"), "budget_n": 0,
                          "budget_diff_mean": float("nan"), "budget_tuned_diff_mean": float("nan")}  # fmt: skip
            if method in common and searched == "weight" and metrics is not None:
                at_budget = _selected(trials, ctx, method, common[method])[0]
                b = metrics.stats(ctx, at_budget)
                bt = metrics.stats(ctx, at_budget, baseline=tuned_key) if tuned_key is not None else {}
                budget_row.update(budget_multiplier=grid_text(common[method]), budget_ours_mean=b["ours_mean"], budget_n=b["n"],
                                  budget_diff_mean=b["diff_mean"], budget_tuned_diff_mean=bt.get("diff_mean", float("nan")))  # fmt: skip
            elif state is not None and searched == "lr" and state.budget_selected is not None and state.selected is not None \
                    and not math.isclose(state.budget_selected, state.selected, rel_tol=1e-9):
                budget_row["budget_multiplier"] = grid_text(state.budget_selected) + " (lr)"  # its runs are not made: the baseline's own rule
            params = picked[1] if picked is not None else {}
            twin = [m for m, t in folded.items() if t == method and searched == "weight"]
            rows.append(dict(zip(CONTEXT, ctx), note=note, method=method, searched=searched, same_as=" ".join(twin),
                             label=TUNED_PPCE_LABEL if searched == "lr" else picked[2] if picked is not None else row_label(key) if key is not None else method,
                             multiplier=weight,
                             search=search, **budget, lambdas=lambdas_text(params.get("lambdas")) if params else "-", **stats,
                             **budget_row))  # fmt: skip
        out += sorted(rows, key=lambda r: -r["ours_mean"] if r["ours_mean"] == r["ours_mean"] else math.inf)
    add_holm(out, CONTEXT)
    _add_tuned_holm(out)
    return pd.DataFrame(out)


def _add_tuned_holm(rows: list[dict]) -> None:
    """``tuned_holm``: Holm at 5% over each section's differences to the tuned PPCE."""
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(tuple(r.get(c) for c in CONTEXT), []).append(i)
    for members in groups.values():
        compared = {i: rows[i]["tuned_diff_p"] for i in members if rows[i]["tuned_diff_note"] != "baseline" and rows[i]["tuned_diff_n"]}
        survived = holm(compared)
        for i in members:
            rows[i]["tuned_holm"] = survived.get(i) if i in compared else None


def budget_text(row) -> str:
    """``8 trials, 6,500 steps`` (``-`` for PPCE, which is not searched)."""
    return f"{int(row['trials_run'])} trials, {int(row['steps_spent']):,} steps" if row["trials_run"] else "-"


def _tuned(r) -> dict:
    """A row's paired difference to the tuned PPCE as ``cells`` reads a difference."""
    return {"diff_note": r["tuned_diff_note"], "diff_n": r["tuned_diff_n"], "diff_mean": r["tuned_diff_mean"], "diff_ci_low": r["tuned_diff_ci_low"],
            "diff_ci_high": r["tuned_diff_ci_high"], "holm": r.get("tuned_holm")}  # fmt: skip


def common_budget_text(r) -> str:
    """The row at the common budget: ``=`` (its selection), ``1/27: 62.1 (+0.1, +0.3)`` (the
    grid given's selection: mIoU, Δ PPCE, Δ tuned PPCE), ``-`` for the default PPCE."""
    m = r["budget_multiplier"]
    if m in ("-", "=") or r["budget_ours_mean"] != r["budget_ours_mean"]:
        return m if m in ("-", "=") else f"{m}: no seed run yet"
    tuned = f", {r['budget_tuned_diff_mean']:+.1f}" if r["budget_tuned_diff_mean"] == r["budget_tuned_diff_mean"] else ""
    diff = f" ({r['budget_diff_mean']:+.1f}{tuned})" if r["budget_diff_mean"] == r["budget_diff_mean"] else ""
    return f"{m}: {r['budget_ours_mean']:.1f}{diff}"


def leaderboard_sections(t: pd.DataFrame) -> list[Section]:
    """The sections of ``leaderboard_table(...)``: one per context, a row per method (PPCE, the
    tuned PPCE and the selected weight of each search), best mIoU first. LaTeX's caption leaves
    out the note common to the tables of mIoU cells (Markdown prints it)."""
    sections = []
    if t.empty:
        return sections
    for ctx, g in t.groupby(CONTEXT, sort=False):
        extra = metric_headers(g)
        header = ["Method", "Registry name", "Weight (x default)", "Search", "Budget", "λ", "mIoU", "n", "Δ PPCE [95% CI]", "Holm",
                  "Δ tuned PPCE [95% CI]", "Holm (tuned)", "At the common budget"]  # fmt: skip
        header += [h for _, text in extra for h in (text, "Δ")]
        rows = []
        for _, r in g.iterrows():
            name = r["method"] + (f" = {r['same_as']}" if r.get("same_as") else "")
            rows.append([r["label"], name, r["multiplier"], r["search"], budget_text(r), r["lambdas"], ours_text(r) if r["n"] or r["n_failed"] else "missing",
                         str(r["n"]), diff_text(r), holm_text(r), diff_text(_tuned(r)), holm_text(_tuned(r)), common_budget_text(r)]
                        + [x for name, _ in extra for x in metric_text(r, name)])  # fmt: skip
        note = g["note"].iloc[0]
        sections.append(Section("Leaderboard: " + _context_text(ctx), header, rows, notes=(note, COMMON_NOTE, method_scales_text()), caption=note))
    return sections


def _banner(t: pd.DataFrame) -> str:
    return plumbing_banner(t["scale"]) if "scale" in t.columns else ""


def leaderboard_document(t: pd.DataFrame) -> Document:
    """The document of ``leaderboard_table(...)``."""
    return Document("Leaderboard: every loss at its searched weight, % mIoU on the reported split", leaderboard_sections(t),
                    empty="No record of a weight search.", banner=_banner(t))  # fmt: skip


def leaderboard_markdown(t: pd.DataFrame) -> str:
    """Markdown of ``leaderboard_table(...)``."""
    return leaderboard_document(t).markdown()


def leaderboard_latex(t: pd.DataFrame) -> str:
    """LaTeX (booktabs) of ``leaderboard_table(...)``: one table environment per context."""
    return latex(leaderboard_sections(t), empty="no record of a weight search", banner=_banner(t))


def write_leaderboard(inputs: PartInput, out: PartOutput) -> None:
    """``leaderboard.{md,csv,tex}``; with a search, ``leaderboard_trials.csv`` and the figures
    (``benchmark.report.leaderboard_figures``) ``leaderboard_forest`` (the tuned losses against
    PPCE), ``leaderboard_budget`` and ``leaderboard_weights``. Reads every record: the searches'
    trials as well as the seed runs."""
    from benchmark.report import leaderboard_figures as figures

    everything = inputs.tidy
    t = leaderboard_table(everything, inputs.definitions, out.warnings)
    out.table("leaderboard", leaderboard_document(t), frame_csv(t.drop(columns=["note"], errors="ignore")), leaderboard_latex(t))
    if t.empty:
        return
    out.text("leaderboard_trials.csv", frame_csv(weight_table(everything, inputs.definitions)))
    made = (
        ("leaderboard_forest", figures.forest_figure(t), figures.FOREST_CAPTION),
        ("leaderboard_budget", figures.budget_figure(everything, inputs.definitions),
         "The searches' budget: each loss's best tuning-split mIoU at each rung against the training steps its trials spent."),
        ("leaderboard_weights", figures.weight_figure(everything, inputs.definitions),
         "Every trial's tuning-split mIoU against its weight multiplier (PPCE's: its learning rate's), a panel per loss: a flat "
         "curve is a loss that does not care much for its weight."),
    )  # fmt: skip
    for stem, fig, caption in made:
        if fig is not None:
            out.figure(stem, fig, caption=caption)


def budget_points(tidy: pd.DataFrame, definitions: list[SearchDefinition]) -> pd.DataFrame:
    """Per search, at each rung's step: the training steps its trials had spent to get there
    (every trial counted up to that step or the furthest it reached, whichever is less) and
    the best tuning-split mIoU any of its trials scored at that step (the incumbent the search
    would pick if it stopped there). An extension adds trials at every rung, so its points move
    right and, where it helped, up."""
    rows = []
    trials = search_trials(tidy, definitions)
    for ctx, method, searched, state, definition in _searches(trials, definitions):
        rungs = definition.rungs
        reached: dict[float, int] = {}
        scores: dict[int, list[float]] = {}
        for (m, step), score in _scores_of(trials, ctx, method, state.grid).items():
            reached[m] = max(reached.get(m, 0), step)
            if score is not None:
                scores.setdefault(step, []).append(score)
        for step in rungs:
            if not any(furthest >= step for furthest in reached.values()):
                break
            spent = sum(min(step, furthest) for furthest in reached.values())
            best = max(scores.get(step, []), default=float("nan"))
            shown = method + (" (lr)" if searched == "lr" else "")
            rows.append(dict(zip(CONTEXT, ctx), method=shown, steps_spent=spent, best_miou=100 * best, rung_step=step))
    return pd.DataFrame(rows)


def _scores_of(trials: pd.DataFrame, ctx: tuple, method: str, grid: tuple[float, ...]) -> dict:
    """(multiplier of ``grid``, step) -> score of the method's trials in the context (None: failed)."""
    mine = trials[(trials["method"] == method) & (trials[CONTEXT] == pd.Series(ctx, index=CONTEXT)).all(axis=1)]
    out = {}
    for r in mine.itertuples():
        g = next((g for g in grid if math.isclose(float(r.multiplier), g, rel_tol=1e-9)), None)
        if g is not None:
            out[(g, int(r.step))] = float(r.miou) if r.status == "ok" and r.miou == r.miou else None
    return out


def weight_table(tidy: pd.DataFrame, definitions: list[SearchDefinition] = ()) -> pd.DataFrame:
    """The search trials as a table: context, method, what is searched (``weight``, or ``lr``
    for PPCE's learning rate), multiplier (as text, ``1/2187``), step reached, seed, tuning mIoU (%)."""
    trials = search_trials(tidy, definitions)
    if trials.empty:
        return trials
    # the multiplier as the grid writes it (1/2187), exact where a float column keeps 3 decimals
    return trials[CONTEXT + ["method", "searched", "multiplier", "step", "seed", "status", "miou", "run_id"]].assign(
        miou=lambda d: 100 * d["miou"], multiplier=lambda d: d["multiplier"].map(grid_text))
