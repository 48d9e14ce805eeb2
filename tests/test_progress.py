"""Progress reports: a tqdm bar on a terminal, at most ten plain lines anywhere else."""

import contextlib
import io

import torch

from methods import LineProgress, fit_edge_net, progress_bar


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_loop_prints_one_line_per_tenth_and_no_carriage_return():
    out = io.StringIO()
    for _ in progress_bar(range(1000), desc="fit edge net", stream=out):
        pass
    text = out.getvalue()
    assert "\r" not in text
    assert text.splitlines() == [f"fit edge net: {k}00/1000" for k in range(1, 11)]


def test_the_tenths_of_a_total_that_ten_does_not_divide():
    # marks ceil(k * 7 / 10) for k = 1..10: 1, 2, 3, 3, 4, 5, 5, 6, 7, 7 -> a line at each of 1..7
    out = io.StringIO()
    bar = progress_bar(total=7, desc="x", stream=out)
    for _ in range(7):
        bar.update()
    bar.close()
    assert out.getvalue().splitlines() == [f"x: {n}/7" for n in range(1, 8)]


def test_a_resumed_run_reports_only_the_tenths_still_ahead_with_its_postfix():
    out = io.StringIO()
    bar = progress_bar(total=1000, initial=250, desc="run", stream=out, leave=False, dynamic_ncols=True)
    assert isinstance(bar, LineProgress)
    for step in range(251, 1001):
        bar.update()
        if step == 290:
            bar.set_postfix({"total": "0.125"})
    bar.close()
    lines = out.getvalue().splitlines()
    assert lines[0] == "run: 300/1000 total=0.125"
    assert [line.split()[1] for line in lines] == [f"{k}00/1000" for k in range(3, 11)]


def test_a_large_update_crossing_several_tenths_prints_one_line():
    out = io.StringIO()
    bar = progress_bar(total=100, desc="x", stream=out)
    bar.update(55)
    bar.update(45)
    assert out.getvalue().splitlines() == ["x: 55/100", "x: 100/100"]


def test_without_a_total_one_line_at_the_end():
    out = io.StringIO()
    for _ in progress_bar(iter(range(5)), desc="x", stream=out):
        pass
    assert out.getvalue() == "x: 5\n"


def test_a_terminal_gets_a_tqdm_bar():
    from tqdm.auto import tqdm

    out = Terminal()
    bar = progress_bar(range(3), desc="x", stream=out)
    assert isinstance(bar, tqdm)
    list(bar)
    assert "\r" in out.getvalue()


def test_the_edge_net_fit_in_a_log_writes_at_most_eleven_lines(monkeypatch):
    masks = torch.zeros(4, 8, 8, dtype=torch.long)
    masks[:, :, 4:] = 1
    log = io.StringIO()
    with contextlib.redirect_stderr(log):  # stderr as a log file sees it: not a terminal
        fit_edge_net(masks, 2, steps=37, progress=True)
    text = log.getvalue()
    assert "\r" not in text and len(text.splitlines()) <= 11
    assert text.splitlines()[-1] == "fit edge net: 37/37"


def test_a_training_run_in_a_log_writes_a_line_per_tenth_of_its_steps():
    from benchmark.spec import RunSpec
    from benchmark.train import train

    spec = RunSpec.create("ppce", scale="smoke", overrides={"steps": 20, "log_every": 5})
    log = io.StringIO()
    with contextlib.redirect_stderr(log):
        record = train(spec, progress=True)
    assert record["status"] == "ok"
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 10
    prefix = f"{spec.label()}: "
    assert all(line.startswith(prefix) for line in lines)
    assert [line[len(prefix) :].split()[0] for line in lines] == [f"{2 * k}/20" for k in range(1, 11)]
    assert "total=" in lines[-1]  # the last logged loss values ride on the line
