"""The one positive-int check (actionkit/utils/checks.py) and its message."""
import numpy as np
import pytest

from actionkit.utils.checks import check_positive_int


def test_accepts_ints_of_at_least_the_minimum_and_returns_a_python_int():
    assert check_positive_int('TSMHead', 'num_segments', 8) == 8
    value = check_positive_int(None, 'seed', np.int64(0), minimum=0)
    assert value == 0 and type(value) is int


@pytest.mark.parametrize('value, minimum, message', [
    (0, 1, 'TSMHead: num_segments must be a positive int, got 0'),
    (True, 1, 'TSMHead: num_segments must be a positive int, got True'),
    (2.0, 1, 'TSMHead: num_segments must be a positive int, got 2.0'),
    ('8', 1, "TSMHead: num_segments must be a positive int, got '8'"),
    (2, 3, 'TSMHead: num_segments must be an int >= 3, got 2'),
])
def test_refuses_with_owner_name_value_and_what_is_wanted(value, minimum, message):
    with pytest.raises(ValueError) as err:
        check_positive_int('TSMHead', 'num_segments', value, minimum)
    assert str(err.value) == message


def test_without_owner_the_message_starts_with_the_name():
    with pytest.raises(ValueError, match=r'^evaluation\.interval must be a positive int, got -1$'):
        check_positive_int(None, 'evaluation.interval', -1)
