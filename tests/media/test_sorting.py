import pytest

from annotask.media import SortingMethod, sort_files

NAMES = ["img10.jpg", "img2.jpg", "Img1.jpg", "a/b.jpg", "a-b/c.jpg", "img1.jpg"]


def test_lexicographical() -> None:
    assert sort_files(NAMES, "lexicographical") == sorted(NAMES)


def test_natural_compares_numbers_as_numbers_and_paths_by_component() -> None:
    assert sort_files(NAMES, SortingMethod.NATURAL) == [
        "a/b.jpg",
        "a-b/c.jpg",
        "Img1.jpg",
        "img1.jpg",
        "img2.jpg",
        "img10.jpg",
    ]


def test_natural_is_independent_of_input_order() -> None:
    assert sort_files(NAMES, "natural") == sort_files(list(reversed(NAMES)), "natural")


def test_predefined_keeps_the_given_order() -> None:
    assert sort_files(NAMES, "predefined") == NAMES


def test_random_is_reproducible_with_a_seed() -> None:
    names = [f"f{i}.png" for i in range(50)]
    first = sort_files(names, "random", seed=42)
    assert first == sort_files(names, "random", seed=42)
    assert first != sort_files(names, "random", seed=43)
    assert sorted(first) == sorted(names) and first != names


def test_unknown_method() -> None:
    with pytest.raises(ValueError):
        sort_files(NAMES, "by_size")
