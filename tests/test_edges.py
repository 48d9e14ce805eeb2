"""semantic_edges against edge maps drawn by hand."""

import pytest
import torch

from methods import semantic_edges


def edges_of(rows):
    return semantic_edges(torch.tensor([rows]))[0].int().tolist()


def test_square():
    labels = [
        [0, 0, 0, 0, 0],
        [0, 1, 1, 0, 0],
        [0, 1, 1, 0, 0],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0],
    ]
    assert edges_of(labels) == [
        [1, 1, 1, 1, 0],
        [1, 1, 1, 1, 0],
        [1, 1, 1, 1, 0],
        [1, 1, 1, 1, 0],
        [0, 0, 0, 0, 0],
    ]


def test_diagonal_uses_the_8_neighbourhood():
    labels = [
        [0, 1, 1, 1],
        [0, 0, 1, 1],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
    ]
    # (2,1) and (0,2) only touch the other class diagonally.
    assert edges_of(labels) == [
        [1, 1, 1, 0],
        [1, 1, 1, 1],
        [0, 1, 1, 1],
        [0, 0, 1, 1],
    ]


def test_void_band_neighbours_count_as_different_and_void_is_never_an_edge():
    labels = [[0, 0, 255, 1, 1]] * 3
    assert edges_of(labels) == [[0, 1, 0, 1, 0]] * 3


def test_one_pixel_object():
    labels = [[2] * 5 for _ in range(5)]
    labels[2][2] = 7
    expected = [[0] * 5 for _ in range(5)]
    for y in range(1, 4):
        for x in range(1, 4):
            expected[y][x] = 1
    assert edges_of(labels) == expected


def test_border_is_not_an_edge():
    assert edges_of([[3, 3, 3], [3, 3, 3]]) == [[0, 0, 0], [0, 0, 0]]
    # An object touching the border: only the pixels next to the other class are edges.
    assert edges_of([[1, 1, 0], [1, 1, 0]]) == [[0, 1, 1], [0, 1, 1]]


def test_batch_images_are_independent_and_dtypes_accepted():
    a = torch.zeros(2, 3, 3, dtype=torch.long)
    a[1, 0, 0] = 4  # only the second image has an object
    e = semantic_edges(a)
    assert e.dtype == torch.bool and e.shape == (2, 3, 3)
    assert not e[0].any()
    assert e[1].int().tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    assert torch.equal(semantic_edges(a.to(torch.uint8)), e)


def test_custom_ignore_index():
    labels = torch.tensor([[[0, 9, 1]]])
    assert semantic_edges(labels, ignore_index=9)[0].int().tolist() == [[1, 0, 1]]


@pytest.mark.parametrize("bad", [torch.zeros(3, 3, dtype=torch.long), torch.zeros(1, 3, 3)])
def test_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        semantic_edges(bad)
