"""tinygan.viz.images: tile lays images out in [0, 1] with black gaps, and rows_figure draws one
labelled row per batch."""
import numpy as np
import pytest

from tinygan.viz.images import rows_figure, tile


def test_tile_places_each_image_in_its_cell_mapped_to_unit_range():
    imgs = np.stack([np.full((1, 2, 3), v) for v in (-1.0, 0.0, 1.0)])  # (3, 1, 2, 3)
    out = tile(imgs, 2, pad=1)
    assert out.shape == (2 * 3 + 1, 2 * 4 + 1)
    assert np.all(out[1:3, 1:4] == 0) and np.all(out[1:3, 5:8] == 0.5)
    assert np.all(out[4:6, 1:4] == 1) and np.all(out[4:6, 5:8] == 0)  # the missing cell: black
    assert np.all(out[0] == 0) and np.all(out[:, 4] == 0)              # the gaps
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        tile(np.zeros((2, 3, 4, 4)), 2)


def test_rows_figure_has_one_labelled_row_per_batch():
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(np.zeros((4, 1, 5, 5)), "input"), (np.ones((3, 1, 5, 5)), "output")]
    fig = rows_figure(rows, 4, "title")
    try:
        assert [ax.get_ylabel() for ax in fig.axes] == ["input", "output"]
        assert fig.axes[1].images[0].get_array().shape == tile(rows[1][0], 4).shape
        assert fig._suptitle.get_text() == "title"
        one = rows_figure(rows[:1], 4)  # a single row works too (squeeze=False)
        assert len(one.axes) == 1
        plt.close(one)
    finally:
        plt.close(fig)
