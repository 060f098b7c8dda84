"""The palindrome generator: property, target, lengths, determinism, encodings."""

import pytest
import torch

from sweeplab.tasks.palindrome.data import PalindromeData, encode, random_palindromes, split

CPU = torch.device("cpu")


def draw(n, T, seed=0):
    return random_palindromes(n, T, torch.Generator().manual_seed(seed), CPU)


@pytest.mark.parametrize("T", [2, 3, 4, 5, 10, 11, 20, 37, 100])
def test_every_sequence_is_a_palindrome_of_length_t(T):
    batch = draw(256, T)
    assert batch.shape == (256, T)
    assert batch.dtype == torch.int64
    assert torch.equal(batch, batch.flip(1))
    assert batch.min() >= 0 and batch.max() <= 9


@pytest.mark.parametrize("T", [4, 5])
def test_free_digits_are_random_and_cover_all_values(T):
    batch = draw(2000, T)
    for position in range((T + 1) // 2):
        counts = torch.bincount(batch[:, position], minlength=10)
        assert (counts > 100).all()  # every digit appears roughly 200 times


def test_inputs_are_the_first_t_minus_1_digits_and_the_target_the_last():
    batch = draw(64, 9)
    inputs, target = split(batch, "one_hot")
    assert inputs.shape == (64, 8, 10)
    assert torch.equal(inputs.argmax(-1), batch[:, :-1])
    assert torch.equal(target, batch[:, -1])
    assert torch.equal(target, batch[:, 0])  # the digit the model must remember


def test_scalar_encoding_is_the_digit_value():
    digits = torch.tensor([[0, 3, 9]])
    assert encode(digits, "scalar").tolist() == [[[0.0], [3.0], [9.0]]]
    assert encode(digits, "one_hot").sum(-1).tolist() == [[1.0, 1.0, 1.0]]


def test_same_seed_same_batches_other_seed_other_batches():
    a = PalindromeData(12, "one_hot", seed=1, eval_size=32, eval_seed=5, device=CPU)
    b = PalindromeData(12, "one_hot", seed=1, eval_size=32, eval_seed=5, device=CPU)
    c = PalindromeData(12, "one_hot", seed=2, eval_size=32, eval_seed=5, device=CPU)
    xa, ya = a.sample(64)
    xb, yb = b.sample(64)
    xc, _ = c.sample(64)
    assert torch.equal(xa, xb) and torch.equal(ya, yb)
    assert not torch.equal(xa, xc)


def test_held_out_set_is_fixed_by_its_own_seed_not_the_run_seed():
    a = PalindromeData(12, "one_hot", seed=1, eval_size=32, eval_seed=5, device=CPU)
    c = PalindromeData(12, "one_hot", seed=2, eval_size=32, eval_seed=5, device=CPU)
    assert torch.equal(a.eval_inputs, c.eval_inputs)
    assert a.eval_inputs.shape == (32, 11, 10)


def test_long_sequences_work():
    data = PalindromeData(100, "scalar", seed=0, eval_size=8, eval_seed=0, device=CPU)
    inputs, targets = data.sample(4)
    assert inputs.shape == (4, 99, 1)
    assert torch.equal(targets.float(), inputs[:, 0, 0])
