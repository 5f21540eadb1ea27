"""The shared CSV helper: quoting, number formats and NaN, each checked by reading the text back with :mod:`csv`."""

import csv
import io
import math

import numpy as np
import pytest

from cnnviz.core.tables import ROUND_TRIP, array_csv, cell, csv_text

AWKWARD_NAMES = ["plain", "a,b", 'say "hi"', "two\nlines", " spaced ", "", "näme ×"]


def read(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_names_with_commas_quotes_and_line_breaks_read_back_unchanged():
    text = csv_text(["name", "n"], [[name, i] for i, name in enumerate(AWKWARD_NAMES)])
    rows = read(text)
    assert rows[0] == ["name", "n"]
    assert rows[1:] == [[name, str(i)] for i, name in enumerate(AWKWARD_NAMES)]
    assert text.startswith("name,n\nplain,0\n\"a,b\",1\n\"say \"\"hi\"\"\",2\n")


def test_header_cells_are_quoted_too():
    assert read(csv_text(["x", "distance_a,b"], []))[0] == ["x", "distance_a,b"]
    assert csv_text(["x", "distance_a,b"], []) == 'x,"distance_a,b"\n'


@pytest.mark.parametrize("value", [0.1, 1 / 3, -2.5e-300, 1e300, 123456789.123, np.float64(0.7), 5e-324])
def test_round_trip_floats_read_back_as_the_same_float64(value):
    (row,) = read(csv_text(["v"], [[value]], digits=ROUND_TRIP))[1:]
    assert float(row[0]) == float(value)
    assert row[0] == repr(float(value))


def test_float32_values_read_back_exactly_with_the_default_nine_digits():
    values = np.random.default_rng(0).standard_normal(200).astype(np.float32) * np.float32(1e3)
    rows = read(csv_text(["v"], ([v] for v in values)))[1:]
    np.testing.assert_array_equal(np.array([float(r[0]) for r in rows], dtype=np.float32), values)


def test_digits_sets_the_significant_digits_and_leaves_ints_and_text_alone():
    text = csv_text(["a", "b", "c", "d"], [[1 / 3, np.float32(2.0), 12345678, "0.333333333"]], digits=6)
    assert read(text)[1] == ["0.333333", "2", "12345678", "0.333333333"]
    assert cell(np.int64(7), digits=2) == "7" and cell(True) == "True"


def test_nan_is_written_as_asked_and_none_is_empty():
    rows = read(csv_text(["x", "y", "z"], [[math.nan, np.float32("nan"), None]]))
    assert rows[1] == ["nan", "nan", ""]
    rows = read(csv_text(["x", "y", "z"], [[math.nan, 1.5, None]], nan=""))
    assert rows[1] == ["", "1.5", ""]
    assert math.isnan(float(cell(np.nan)))
    assert cell(math.inf) == "inf" and cell(-math.inf, digits=ROUND_TRIP) == "-inf"


def test_array_csv_reads_back_as_the_array():
    values = np.array([[0.1, -2.0, 3.5], [np.pi, 0.0, 1e-7]], dtype=np.float32)
    rows = read(array_csv("w,x", values))
    assert rows[0] == ["row", "w,x[0]", "w,x[1]", "w,x[2]"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    np.testing.assert_array_equal(np.array([[float(c) for c in r[1:]] for r in rows[1:]], dtype=np.float32), values)
    assert array_csv("v", np.array([2, 5])) == "index,v\n0,2\n1,5\n"
    assert array_csv("e", np.zeros((0, 3))) == "row,e[0],e[1],e[2]\n"
    assert array_csv("s", np.array(["a"])) is None and array_csv("c", np.zeros((2, 2, 2))) is None
