"""findna.Embedder: findna.embed's numbers as a scikit-learn transformer (fit/transform,
pipelines, clone, get/set_params) and its errors."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import findna
from findna.eval.embedder import Embedder
from findna.model.config import ModelConfig
from findna.model.network import FinDNANetwork


def _seqs(n: int, seed: int, lo: int = 8, hi: int = 40) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list("ACGT"), rng.integers(lo, hi))) for _ in range(n)]


@pytest.fixture(scope="module")
def net():
    return findna.load_model("scratch", scratch="tiny")


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A tiny exported model: a source the embedder loads itself."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("embedder") / "model"
    FinDNANetwork(ModelConfig.tiny(max_len=64)).save_pretrained(path)
    return path


def test_the_package_face_gives_the_embedder():
    assert findna.Embedder is Embedder


@pytest.mark.parametrize("pooling, rc", [("masked_mean", False), ("mean+cls", True)])
def test_a_network_gives_the_numbers_of_embed(net, pooling, rc):
    seqs = _seqs(7, 0)
    emb = Embedder(net, pooling=pooling, rc_average=rc, batch_size=3, device="cpu")
    got = emb.fit_transform(seqs)
    want = findna.embed(net, seqs, pooling=pooling, rc_average=rc, device="cpu")
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    assert emb.network_ is net and emb.model_id_ is None
    shorter = _seqs(4, 1, hi=12)  # a fitted embedder transforms other sequences
    want = findna.embed(net, shorter, pooling=pooling, rc_average=rc)
    np.testing.assert_array_equal(emb.transform(shorter), want)


def test_a_source_is_loaded_once_and_built_for_the_fitted_sequences(export):
    seqs = _seqs(6, 2)
    emb = Embedder(str(export), device="cpu").fit(seqs)
    np.testing.assert_array_equal(emb.transform(seqs), findna.embed(export, seqs))
    assert emb.max_len_ == max(map(len, seqs)) and emb.model_id_
    other = _seqs(3, 3, hi=20)  # the fitted network, not one rebuilt for these
    np.testing.assert_array_equal(emb.transform(other), findna.embed(emb.network_, other))
    sized = Embedder(export, max_len=100).fit(seqs)
    assert sized.max_len_ == 100
    np.testing.assert_array_equal(sized.transform(other), findna.embed(export, other, max_len=100))


def test_inputs_as_arrays_series_and_one_column_tables(net):
    seqs = _seqs(5, 4)
    emb = Embedder(net).fit(seqs)
    want = emb.transform(seqs)
    for X in (np.array(seqs), pd.Series(seqs), pd.DataFrame({"sequence": seqs})):
        np.testing.assert_array_equal(emb.transform(X), want)


def test_a_pipeline_learns_gc_content_above_chance(net):
    rng = np.random.default_rng(5)

    def task(n):
        y = rng.integers(0, 2, n)
        probs = {0: [0.35, 0.15, 0.15, 0.35], 1: [0.15, 0.35, 0.35, 0.15]}
        seqs = ["".join(rng.choice(list("ACGT"), 30, p=probs[int(c)])) for c in y]
        return seqs, y

    X_train, y_train = task(80)
    X_test, y_test = task(40)
    clf = make_pipeline(Embedder(net, device="cpu"), LogisticRegression(max_iter=2000))
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.75
    assert clf.predict_proba(X_test).shape == (40, 2)


def test_clone_and_params_round_trip(net):
    emb = Embedder(net, pooling="cls", batch_size=8, max_len=None)
    params = emb.get_params()
    assert params == {
        "model": net,
        "pooling": "cls",
        "rc_average": False,
        "batch_size": 8,
        "device": "auto",
        "which": "teacher",
        "max_len": None,
    }
    copy = clone(emb)
    assert type(copy) is Embedder and not hasattr(copy, "network_")
    assert {k: v for k, v in copy.get_params().items() if k != "model"} == {
        k: v for k, v in params.items() if k != "model"
    }
    assert copy.set_params(rc_average=True) is copy and copy.rc_average
    pipe = make_pipeline(Embedder("my_run"), LogisticRegression())
    pipe.set_params(embedder__pooling="mean")
    assert clone(pipe).get_params()["embedder__pooling"] == "mean"


def test_transform_before_fit_says_to_fit(net):
    with pytest.raises(NotFittedError, match=r"not fitted yet: call fit\(X\)"):
        Embedder(net).transform(["ACGT"])


def test_errors_name_the_fix(net, export):
    with pytest.raises(ValueError, match="pooling must be one of"):
        Embedder(net, pooling="max").fit(["ACGT"])
    with pytest.raises(ValueError, match="a list of DNA strings"):
        Embedder(net).fit("ACGTACGT")
    with pytest.raises(ValueError, match=r"Embedder.fit: .*X"):
        Embedder(net).fit(["ACGT", "ACXT"])
    with pytest.raises(ValueError, match="built network was given"):
        Embedder(net, which="student").fit(["ACGT"])
    with pytest.raises(ValueError, match="built network was given"):
        Embedder(net, max_len=500).fit(["ACGT"])
    with pytest.raises(ValueError, match=r"findna.load_model\(source, max_len=400\)"):
        Embedder(net).fit(["A" * 400])  # the tiny network takes 266 tokens
    emb = Embedder(export).fit(_seqs(3, 6, hi=20))
    with pytest.raises(ValueError, match=r"Embedder\(\.\.\., max_len=45\)"):
        emb.transform(["A" * 45])
    with pytest.raises(ValueError, match="max_len"):
        Embedder(export, max_len=10).fit(["A" * 20])
