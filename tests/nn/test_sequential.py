import numpy as np
import pytest

from minitorch_cap.gradcheck import check_module
from minitorch_cap.nn import Affine, Embedding, Sequential, TemporalAffine


def test_chain_names():  # its gradients: tests/nn/test_contract.py
    rng = np.random.default_rng(0)
    net = Sequential(Affine(4, 5, dtype=np.float64, rng=rng), Affine(5, 3, dtype=np.float64, rng=rng))
    assert [n for n, _ in net.named_parameters()] == ["0.W", "0.b", "1.W", "1.b"]
    assert len(net) == 2 and isinstance(net[1], Affine)


def test_named_children_and_embedding_first():
    rng = np.random.default_rng(0)
    net = Sequential({"embed": Embedding(6, 3, dtype=np.float64, rng=rng),
                      "out": TemporalAffine(3, 2, dtype=np.float64, rng=rng)})
    assert [n for n, _ in net.named_parameters()] == ["embed.W", "out.W", "out.b"]
    check_module(net, rng.integers(0, 6, (2, 3))).assert_close(1e-7)


def test_errors_name_the_failing_child():
    net = Sequential({"first": Affine(4, 5), "second": Affine(6, 3)})
    with pytest.raises(ValueError, match=r"^second: Affine.forward: expected x of shape \(N, D=6\)"):
        net.forward(np.zeros((2, 4)))
    with pytest.raises(RuntimeError, match="Sequential.backward: no forward"):
        Sequential(Affine(2, 2)).backward(np.zeros((1, 2)))


def test_embedding_in_the_middle_is_refused():
    net = Sequential(Affine(2, 2), Embedding(3, 2))
    with pytest.raises(TypeError, match="must be a Module"):
        Sequential(Affine(2, 2), "not a module")
    net.train()
    net[1].forward(np.zeros((1, 1), dtype=int))
    net._save_for_backward()
    with pytest.raises(TypeError, match="child '1' returned no input gradient"):
        net.backward(np.zeros((1, 1, 2)))
