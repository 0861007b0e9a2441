"""The report's generated sentences (labseg.prose) from hand-made run tables: a ranking is claimed only beyond the
seed spread."""
from labseg import prose
from test_stats import runs_table


def test_rankings_are_claimed_only_beyond_the_seed_spread():
    close = runs_table([(f"u{s}", "unet", "hflip", s, d, 0.9) for s, d in enumerate((0.80, 0.84, 0.82))]
                       + [(f"i{s}", "unet", "independent", s, d, 0.9) for s, d in enumerate((0.79, 0.83, 0.81))])
    text = " ".join(prose.discussion(close))
    assert "-0.0100" in text and "no ranking is claimed" in text
    far = close.assign(test_dice=[0.80, 0.81, 0.82, 0.60, 0.61, 0.62])
    text = " ".join(prose.discussion(far))
    assert "-0.2000" in text and "more than the spread across seeds (0.0100)" in text
    single = close.iloc[[0, 3]]
    assert "from a single seed" in " ".join(prose.discussion(single))
