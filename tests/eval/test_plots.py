"""Embedding plots: files written, subsampling, errors."""

import numpy as np
import pytest

from findna.eval.plots import plot_embeddings, stratified_subsample

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def test_stratified_subsample_keeps_proportions_and_is_seeded():
    labels = np.array([0] * 90 + [1] * 10)
    idx = stratified_subsample(labels, 20, seed=3)
    assert len(idx) == 20 and len(set(idx.tolist())) == 20
    assert np.bincount(labels[idx]).tolist() == [18, 2]
    assert np.array_equal(idx, stratified_subsample(labels, 20, seed=3))
    assert not np.array_equal(idx, stratified_subsample(labels, 20, seed=4))
    rare = np.array(["a"] * 995 + ["b"] * 5)
    picked = rare[stratified_subsample(rare, 10)]
    assert (picked == "b").sum() == 1 and len(picked) == 10  # a rare class keeps one point
    assert np.array_equal(stratified_subsample(labels, 500), np.arange(100))


def test_plot_embeddings_tsne_with_subsample(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 20)
    features = rng.normal(size=(60, 8)) + 3 * labels[:, None]
    out = tmp_path / "tsne.png"
    # One thread: several test processes share two cores, and OpenMP spinning slows t-SNE 10x.
    emb = plot_embeddings(features, labels, out, seed=0, max_points=45, num_threads=1)
    _assert_png(out)
    assert emb.coords.shape == (45, 2) and np.isfinite(emb.coords).all()
    assert np.bincount(labels[emb.indices]).tolist() == [15, 15, 15]
    again = plot_embeddings(
        features, labels, tmp_path / "again.png", seed=0, max_points=45, num_threads=1
    )
    np.testing.assert_allclose(again.coords, emb.coords)


def test_plot_embeddings_pca_with_label_names(tmp_path):
    labels = np.array([0, 1] * 10)
    features = np.random.default_rng(1).normal(size=(20, 4))
    emb = plot_embeddings(
        features, labels, tmp_path / "pca.png", method="pca", label_names={0: "neg", 1: "pos"}
    )
    _assert_png(tmp_path / "pca.png")
    assert emb.coords.shape == (20, 2)


@pytest.mark.parametrize(
    ("features", "labels", "kwargs", "match"),
    [
        (np.zeros((10, 3)), np.zeros(9), {}, "labels must be 1-D with 10"),
        (np.zeros(10), np.zeros(10), {}, r"features must be 2-D \(N, d\)"),
        (np.zeros((2, 3)), np.zeros(2), {}, "at least 3 points"),
        (np.full((4, 2), np.nan), np.zeros(4), {}, "row 0 is not finite"),
        (np.zeros((4, 2)), np.zeros(4), {"method": "umap"}, "method must be"),
    ],
)
def test_plot_embeddings_errors(tmp_path, features, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_embeddings(features, labels, tmp_path / "x.png", **kwargs)


def _assert_figure(path):
    """A valid file of the kind its suffix names."""
    import xml.etree.ElementTree as ET

    kind = path.suffix.lower()
    if kind == ".png":
        _assert_png(path)
    elif kind == ".pdf":
        data = path.read_bytes()
        assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    else:
        assert ET.parse(path).getroot().tag == "{http://www.w3.org/2000/svg}svg"


@pytest.mark.parametrize("suffix", [".png", ".pdf", ".svg", ".PDF"])
def test_figures_are_written_in_the_format_their_suffix_names(tmp_path, suffix):
    from findna.figures import check_figure_path

    labels = np.array([0, 1] * 10)
    features = np.random.default_rng(1).normal(size=(20, 4))
    out = tmp_path / f"map{suffix}"
    assert check_figure_path(out) == out
    plot_embeddings(features, labels, out, method="pca")
    _assert_figure(out)


def test_a_vector_figure_drawn_twice_is_the_same_file(tmp_path):
    labels = np.array([0, 1] * 10)
    features = np.random.default_rng(1).normal(size=(20, 4))
    out = tmp_path / "map.pdf"
    plot_embeddings(features, labels, out, method="pca")
    first = out.read_bytes()
    plot_embeddings(features, labels, out, method="pca")
    assert out.read_bytes() == first  # no creation date inside


@pytest.mark.parametrize("name", ["map.csv", "map.npy", "map", "map.jpg"])
def test_an_unknown_figure_suffix_is_refused_naming_the_accepted_ones(tmp_path, name):
    from findna.figures import check_figure_path, new_figure, save_figure

    out = tmp_path / name
    accepted = r"\.png, \.pdf, \.svg"
    with pytest.raises(ValueError, match=accepted):
        check_figure_path(out)
    with pytest.raises(ValueError, match=accepted):
        save_figure(new_figure(2, 2), out)
    with pytest.raises(ValueError, match=accepted):  # before the projection
        plot_embeddings(np.zeros((4, 2)), np.zeros(4), out, method="pca")
    assert not out.exists()
