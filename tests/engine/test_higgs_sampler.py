"""Chorus's Higgs sampler: the right distribution, the filters, RAS, and per-row seeds."""

from __future__ import annotations

import pytest

from engine.higgs import sampler

torch = pytest.importorskip("torch")

BOOKS, SIZE = 8, 1026


def settings(rows: int, *, temperature=1.0, top_k=0, top_p=1.0, ras=(0, 1), seeds=None) -> sampler.Settings:
    seeds = list(range(rows)) if seeds is None else seeds
    return sampler.Settings.of([(temperature, top_k, top_p, *ras, s) for s in seeds], "cpu")


def empty_history(rows: int):  # type: ignore[no-untyped-def]
    return torch.full((rows, sampler.HISTORY, BOOKS), -1, dtype=torch.long)


def test_picks_follow_the_softmax_of_the_scores() -> None:
    rows = 2000
    logits = torch.full((rows, BOOKS, SIZE), -float("inf"))
    logits[:, :, :4] = torch.log(torch.tensor([0.1, 0.2, 0.3, 0.4]))
    picks = sampler.pick(logits, settings(rows), torch.zeros(rows, dtype=torch.long), empty_history(rows))
    share = torch.bincount(picks.flatten(), minlength=4)[:4].float() / picks.numel()
    assert torch.allclose(share, torch.tensor([0.1, 0.2, 0.3, 0.4]), atol=0.015), share


def test_top_k_top_p_and_greedy_filter_as_transformers_does() -> None:
    rows = 500
    logits = torch.randn(1, BOOKS, SIZE).expand(rows, -1, -1).clone()
    frames = torch.arange(rows)
    top3 = logits[0].topk(3, dim=-1).indices
    picks = sampler.pick(logits, settings(rows, top_k=3), frames, empty_history(rows))
    assert all(bool(torch.isin(picks[:, b], top3[b]).all()) for b in range(BOOKS))
    probs = torch.softmax(logits[0], dim=-1)
    nucleus = probs.sort(dim=-1, descending=True)
    picks = sampler.pick(logits, settings(rows, top_p=0.05), frames, empty_history(rows))
    for b in range(BOOKS):
        kept = nucleus.indices[b][: int((nucleus.values[b].cumsum(0) - nucleus.values[b] < 0.05).sum())]
        assert bool(torch.isin(picks[:, b], kept).all())
    greedy = sampler.pick(logits, settings(rows, temperature=0.0), frames, empty_history(rows))
    assert bool((greedy == logits.argmax(dim=-1)).all())


def test_a_rows_pick_depends_on_its_seed_and_frame_only() -> None:
    logits = torch.randn(6, BOOKS, SIZE)
    frames = torch.tensor([3, 3, 3, 7, 7, 7])
    together = sampler.pick(logits, settings(6, seeds=[5, 6, 7, 5, 6, 7]), frames, empty_history(6))
    for row in range(6):
        alone = sampler.pick(
            logits[row : row + 1], settings(1, seeds=[[5, 6, 7, 5, 6, 7][row]]), frames[row : row + 1], empty_history(1)
        )
        assert torch.equal(alone[0], together[row])
    again = sampler.pick(logits, settings(6, seeds=[5, 6, 7, 5, 6, 7]), frames, empty_history(6))
    assert torch.equal(again, together)
    other = sampler.pick(logits, settings(6, seeds=[50, 60, 70, 50, 60, 70]), frames, empty_history(6))
    assert not torch.equal(other, together)


def test_ras_redraws_a_code_repeated_in_the_window_and_ignores_stream_codes() -> None:
    rows = 200
    logits = torch.full((rows, BOOKS, SIZE), -float("inf"))
    logits[:, :, 10] = 5.0  # top-k 1 would always pick 10 …
    logits[:, :, 11] = 4.0
    history = empty_history(rows)
    history[:, -2:, :] = 10  # … which the last two frames already hold
    frames = torch.arange(rows)
    picks = sampler.pick(logits, settings(rows, top_k=1, ras=(7, 2)), frames, history)
    assert bool((picks == 11).any()) and bool(((picks == 10) | (picks == 11)).all())
    off = sampler.pick(logits, settings(rows, top_k=1, ras=(0, 1)), frames, history)
    assert bool((off == 10).all())
    history[:, -2:, :] = SIZE - 1  # stream EOS codes are not repeats
    logits[:, :, SIZE - 1] = 9.0
    eos = sampler.pick(logits, settings(rows, top_k=1, ras=(7, 2)), frames, history)
    assert bool((eos == SIZE - 1).all())


def test_the_frame_masks_force_the_delay_pattern_and_the_frame_window() -> None:
    bos, eos = SIZE - 2, SIZE - 1
    scores = torch.zeros(4, BOOKS, SIZE)
    frames = torch.tensor([0, 3, 12, 12])
    delay = torch.tensor([0, 0, 2, 0])
    masked = sampler.frame_masks(
        scores, frames, delay, torch.tensor([0, 0, 0, 20]), torch.tensor([50, 50, 50, 12]), bos=bos, eos=eos
    )
    finite = torch.isfinite(masked)
    assert bool((finite[0].sum(-1) == 1).all()) and bool(finite[0, :, bos].all())  # frame 0: all BOS
    assert bool(finite[1, 3:, bos].all()) and bool((finite[1, 3:].sum(-1) == 1).all())  # codebooks ≥ 3 wait
    assert bool(finite[1, :3].all())
    assert bool((finite[2, :2].sum(-1) == 1).all()) and bool(finite[2, :2, eos].all())  # ending: 0, 1 done
    assert bool(finite[2, 2:].all())
    assert bool(finite[3, 0].sum() == 1) and bool(finite[3, 0, eos])  # at the cap: codebook 0 ends
    assert not bool(finite[3, 1:, eos].any())  # still under min_frames elsewhere
