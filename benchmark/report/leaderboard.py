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
from benchmark.report.render import Section, frame_csv, latex, markdown
from benchmark.report.stats import SeedMetrics, add_holm
from benchmark.report.tidy import BASELINE, CONTEXT, describe_context, lambdas_text, registered, reported, sorted_rows
from benchmark.spec import RowKey, row_key, row_label
from benchmark.search_definition import SEARCHES_FOLDER, SearchDefinition, definition_context, replay, trial_score
from benchmark.tuning import EXTENSION_BOUND, SearchState, grid_text, position_text, scaled_params

__all__ = ["budget_figure", "leaderboard_latex", "leaderboard_markdown", "leaderboard_sections", "leaderboard_table", "search_trials",
           "weight_figure", "weight_table", "write_leaderboard"]  # fmt: skip


def _context_text(ctx: tuple) -> str:
    c = dict(zip(CONTEXT, ctx))
    return describe_context(c["dataset"], c["scale"], c["backbone"], c["init"], c["overrides"])


def search_trials(tidy: pd.DataFrame) -> pd.DataFrame:
    """The weight search's trials: tuning-split runs with a multiplier, one per (context,
    method, multiplier, step), in context order."""
    if tidy.empty or "split" not in tidy.columns:
        return pd.DataFrame()
    t = tidy[(tidy["split"] == "tune") & tidy["multiplier"].notna()]
    return sorted_rows(t, CONTEXT + ["method", "multiplier", "step"]) if len(t) else pd.DataFrame()


def _searches(trials: pd.DataFrame, definitions: list[SearchDefinition], warnings: list[str] | None = None):
    """Per (context, method): the search state its definition's rule reaches on its trials
    (``search_definition.replay``, as the runner replays it), the grid the search was given and
    the rungs. Trials with no definition beside them are left out, with a warning."""
    if trials.empty:
        return
    by_context = {definition_context(d, overrides_text): d for d in definitions}
    for keys, g in trials.groupby(CONTEXT + ["method"], sort=False):
        ctx, method = tuple(keys[:-1]), keys[-1]
        definition = by_context.get(ctx)
        if definition is None or method not in definition.methods:
            if warnings is not None:
                warnings.append(f"the weight-search trials of {method} ({_context_text(ctx)}) have no search definition beside them "
                                f"({SEARCHES_FOLDER}/); run the leaderboard command on these records again to write it")  # fmt: skip
            continue
        scores = {(float(r.multiplier), int(r.step)): trial_score(r.status, r.miou) for r in g.itertuples()}
        yield ctx, method, replay(definition, scores), definition.grid, definition.rungs


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


def leaderboard_table(tidy: pd.DataFrame, definitions: list[SearchDefinition], warnings: list[str] | None = None) -> pd.DataFrame:
    """One row per method and search context: the selected multiplier, where it lies in the
    grid searched (``search``: interior, extended to a multiplier, bound reached, or how far
    an unfinished search is), the search's budget (``trials_run``, ``steps_spent``), the seed
    runs at it (mean, std, paired difference to PPCE with its interval and Holm's verdict over
    the section's methods, the boundary metrics), sorted by mIoU; PPCE is the baseline row.

    A search whose extension is under way shows the weight that asked for it, "(grid edge)",
    with that weight's seed runs where they exist: the best weight may lie beyond it."""
    warnings = [] if warnings is None else warnings
    trials = search_trials(tidy)
    if trials.empty:
        return pd.DataFrame()
    seeds = reported(tidy)
    out = []
    sections: dict[tuple, list[tuple]] = {}
    for ctx, method, state, base, rungs in _searches(trials, definitions, warnings):
        sections.setdefault(ctx, []).append((method, state, base, rungs))
    low, high = (grid_text(float(b)) for b in EXTENSION_BOUND)
    for ctx, searches in sections.items():
        in_ctx = seeds[(seeds[CONTEXT] == pd.Series(ctx, index=CONTEXT)).all(axis=1)] if len(seeds) else seeds
        base, rungs = searches[0][2], searches[0][3]
        chosen = {method: state for method, state, _, _ in searches}
        keys = {BASELINE: None}
        for method, state in chosen.items():
            if _shown(state) is not None:
                keys[_selected(trials, ctx, method, _shown(state))[0]] = state
        frame = in_ctx[in_ctx.apply(lambda r: (r["method"], r["params"]) in keys, axis=1)] if len(in_ctx) else in_ctx
        metrics = SeedMetrics(frame, warnings) if len(frame) else None
        note = (
            f"Ours: {_context_text(ctx)}. Each loss's weight was searched as a multiplier on its default lambdas over "
            f"{', '.join(grid_text(m) for m in base)} (seed 0, scored by mIoU on the tuning split), cut by successive halving "
            f"at steps {', '.join(map(str, rungs))} (the best third kept at each rung), then run with {len(set(frame['seed'])) if len(frame) else 0} "
            "seeds on the reported split at the selected weight. Where the grid's smallest or largest multiplier was selected, "
            "the next one beyond it (a factor of 3) joined the grid and the rule was replayed on the grown grid, while the "
            f"selection stayed at an edge, within {low}..{high}. Search: 'interior' (inside the grid above), 'extended to m' "
            "(inside a grid widened to m), 'bound reached' (an edge with no multiplier left within the bound: the best weight "
            "may lie beyond it), 'extending' (an extension under way: the weight shown, '(grid edge)', is provisional); "
            "'selection diverged': the best trial the search found diverged, so no weight it tried trained the loss. "
            "Budget: trials run and training steps spent (each trial counted to the furthest step it reached)."
        )
        rows = []
        for method, state in [("ppce", None)] + sorted(chosen.items()):
            shown = _shown(state)
            picked = _selected(trials, ctx, method, shown) if shown is not None else None
            key = BASELINE if state is None else (picked[0] if picked is not None else None)
            stats = metrics.stats(ctx, key) if (metrics is not None and key is not None) else None
            if stats is None:
                stats = {"ours_mean": float("nan"), "ours_std": float("nan"), "n": 0, "n_failed": 0, "missing_seeds": "", "diff_n": 0,
                         "diff_note": "no seed run yet" if state is None or shown is not None else "search not finished", "diff_p": float("nan"), "n_diverged": 0, "diff_seeds": ""}  # fmt: skip
            if state is None:
                weight, search, budget = "-", "-", {"trials_run": 0, "steps_spent": 0}
            else:
                search = position_text(state, base, rungs)
                if _diverged_selection(trials, ctx, method, state):
                    search += "; selection diverged"
                budget = {"trials_run": state.trials_run, "steps_spent": state.steps_spent}
                if state.selected is not None:
                    weight = grid_text(state.selected) + (" (bound reached)" if state.bound_reached else "")
                elif shown is not None:
                    weight = f"{grid_text(shown)} (grid edge)"
                else:
                    weight = f"rung {state.rung + 1} of {len(rungs)}"
            params = picked[1] if picked is not None else {}
            rows.append(dict(zip(CONTEXT, ctx), note=note, method=method,
                             label=picked[2] if picked is not None else row_label(key) if key is not None else method, multiplier=weight,
                             search=search, **budget, lambdas=lambdas_text(params.get("lambdas")) if params else "-", **stats))  # fmt: skip
        out += sorted(rows, key=lambda r: -r["ours_mean"] if r["ours_mean"] == r["ours_mean"] else math.inf)
    add_holm(out, CONTEXT)
    return pd.DataFrame(out)


def budget_text(row) -> str:
    """``8 trials, 6,500 steps`` (``-`` for PPCE, which is not searched)."""
    return f"{int(row['trials_run'])} trials, {int(row['steps_spent']):,} steps" if row["trials_run"] else "-"


def leaderboard_sections(t: pd.DataFrame) -> list[Section]:
    """The sections of ``leaderboard_table(...)``: one per context, a row per method (PPCE and
    the selected weight of each search), best mIoU first. LaTeX's caption leaves out the note
    common to the tables of mIoU cells (Markdown prints it)."""
    sections = []
    if t.empty:
        return sections
    for ctx, g in t.groupby(CONTEXT, sort=False):
        extra = metric_headers(g)
        header = ["Method", "Registry name", "Weight (x default)", "Search", "Budget", "λ", "mIoU", "n", "Δ PPCE [95% CI]", "Holm"]
        header += [h for _, text in extra for h in (text, "Δ")]
        rows = []
        for _, r in g.iterrows():
            rows.append([r["label"], r["method"], r["multiplier"], r["search"], budget_text(r), r["lambdas"], ours_text(r) if r["n"] or r["n_failed"] else "missing",
                         str(r["n"]), diff_text(r), holm_text(r)] + [x for name, _ in extra for x in metric_text(r, name)])  # fmt: skip
        note = g["note"].iloc[0]
        sections.append(Section("Leaderboard: " + _context_text(ctx), header, rows, notes=(note, COMMON_NOTE), caption=note))
    return sections


def leaderboard_markdown(t: pd.DataFrame) -> str:
    """Markdown of ``leaderboard_table(...)``."""
    return markdown("Leaderboard: every loss at its searched weight, % mIoU on the reported split", leaderboard_sections(t),
                    empty="No record of a weight search.")  # fmt: skip


def leaderboard_latex(t: pd.DataFrame) -> str:
    """LaTeX (booktabs) of ``leaderboard_table(...)``: one table environment per context."""
    return latex(leaderboard_sections(t), empty="no record of a weight search")


def write_leaderboard(inputs: PartInput, out: PartOutput) -> None:
    """``leaderboard.{md,csv,tex}``; with a search, ``leaderboard_trials.csv`` and the figures
    ``leaderboard_budget.png`` and ``leaderboard_weights.png``. Reads every record: the
    searches' trials as well as the seed runs."""
    everything = inputs.tidy
    t = leaderboard_table(everything, inputs.definitions, out.warnings)
    out.table("leaderboard", leaderboard_markdown(t), frame_csv(t.drop(columns=["note"], errors="ignore")), leaderboard_latex(t))
    if t.empty:
        return
    out.text("leaderboard_trials.csv", frame_csv(weight_table(everything)))
    for stem, make in (("leaderboard_budget", lambda t: budget_figure(t, inputs.definitions)), ("leaderboard_weights", weight_figure)):
        fig = make(everything)
        if fig is not None:
            out.figure(stem, fig)


def budget_points(tidy: pd.DataFrame, definitions: list[SearchDefinition]) -> pd.DataFrame:
    """Per search, at each rung's step: the training steps its trials had spent to get there
    (every trial counted up to that step or the furthest it reached, whichever is less) and
    the best tuning-split mIoU any of its trials scored at that step (the incumbent the search
    would pick if it stopped there). An extension adds trials at every rung, so its points move
    right and, where it helped, up."""
    rows = []
    trials = search_trials(tidy)
    for ctx, method, state, _, rungs in _searches(trials, definitions):
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
            rows.append(dict(zip(CONTEXT, ctx), method=method, steps_spent=spent, best_miou=100 * best, rung_step=step))
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


def _figure_panels(frame: pd.DataFrame):
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(frame["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.0 * len(datasets), 4.2), squeeze=False)
    return fig, dict(zip(datasets, axes[0]))


def budget_figure(tidy: pd.DataFrame, definitions: list[SearchDefinition]):
    """Best tuning-split mIoU against the training steps spent, one line per method and a panel
    per dataset; None without search trials."""
    import seaborn as sns

    points = budget_points(tidy, definitions)
    if points.empty:
        return None
    fig, panels = _figure_panels(points)
    for dataset, ax in panels.items():
        sns.lineplot(data=points[points["dataset"] == dataset], x="steps_spent", y="best_miou", hue="method", marker="o",
                     palette=_method_colours(points["method"]), ax=ax)  # fmt: skip
        ax.set(title=f"{dataset}: weight search budget", xlabel="training steps spent (all trials)", ylabel="best tuning mIoU at the rung (%)")
        ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def _method_colours(methods: pd.Series) -> dict:
    """One colour per method, the same in every panel and figure: tab20's ten strong colours
    first, then its light ones (a default palette of 10 repeats itself past ten losses)."""
    import seaborn as sns

    tab20 = sns.color_palette("tab20", 20)
    colours = tab20[0::2] + tab20[1::2]
    return {m: colours[i % len(colours)] for i, m in enumerate(sorted(set(methods)))}


def weight_figure(tidy: pd.DataFrame):
    """Every trial's tuning-split mIoU against its weight multiplier (log scale), one line per
    method and rung: a flat curve is a loss that does not care much for its weight."""
    import seaborn as sns

    trials = search_trials(tidy)
    if trials.empty:
        return None
    points = trials.assign(miou_pct=100 * trials["miou"], rung=trials["step"].map(lambda s: f"step {s}"))
    fig, panels = _figure_panels(points)
    for dataset, ax in panels.items():
        sub = points[points["dataset"] == dataset]
        sns.lineplot(data=sub, x="multiplier", y="miou_pct", hue="method", style="rung", markers=True, dashes=True,
                     palette=_method_colours(points["method"]), ax=ax)  # fmt: skip
        ax.set_xscale("log")
        ax.set_xticks(sorted(set(sub["multiplier"])), [grid_text(m) for m in sorted(set(sub["multiplier"]))])
        ax.set(title=f"{dataset}: tuning mIoU against the weight", xlabel="multiplier on the default lambdas", ylabel="tuning mIoU (%)")
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


def weight_table(tidy: pd.DataFrame) -> pd.DataFrame:
    """The search trials as a table: context, method, multiplier (as text, ``1/2187``), step
    reached, tuning mIoU (%)."""
    trials = search_trials(tidy)
    if trials.empty:
        return trials
    # the multiplier as the grid writes it (1/2187), exact where a float column keeps 3 decimals
    return trials[CONTEXT + ["method", "multiplier", "step", "status", "miou", "run_id"]].assign(
        miou=lambda d: 100 * d["miou"], multiplier=lambda d: d["multiplier"].map(grid_text))
