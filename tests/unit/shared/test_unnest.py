"""One helper writes every batch statement's ``unnest(CAST ...)`` and its parameters."""

from __future__ import annotations

import pytest

from shared.database.engine import unnest


def test_each_column_is_cast_to_an_array_of_its_type_in_the_order_given() -> None:
    table, params = unnest(a=("text", ("x", "y")), n=("int", iter([1, 2])))
    assert table == "unnest(CAST(:a AS text[]), CAST(:n AS int[]))"
    assert params == {"a": ["x", "y"], "n": [1, 2]}  # lists: asyncpg binds arrays from them


@pytest.mark.parametrize("rows", [0, 3])
def test_the_parameters_have_one_value_per_row(rows: int) -> None:
    _table, params = unnest(k=("text", (str(i) for i in range(rows))))
    assert params["k"] == [str(i) for i in range(rows)]
