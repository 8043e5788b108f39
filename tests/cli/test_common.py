"""What the commands share: options made from the library's settings, and the error rule."""

import argparse
import re

import attrs
import pytest

from minitorch_cap.cli.common import add_setting, option, positive_int, user_errors
from minitorch_cap.nn.checks import SettingsError, setting


@attrs.frozen
class Sizes:
    width: int = setting(int, low=1, metavar="W", help="a width")
    rate: float = setting(float, 0.5, low=0.0, high=1.0, low_open=True, metavar="R", help="a rate")


def parser():
    p = argparse.ArgumentParser(exit_on_error=False)
    for field in attrs.fields(Sizes):
        add_setting(p, field)
    return p


@pytest.mark.parametrize("argv, value", [(["--width", "3"], ("width", 3)), (["--rate", "1"], ("rate", 1.0))])
def test_an_option_made_from_a_setting_reads_its_value(argv, value):
    args = parser().parse_args(argv)
    assert getattr(args, value[0]) == value[1] and type(getattr(args, value[0])) is type(value[1])


@pytest.mark.parametrize("argv, message", [(["--width", "0"], "expected an integer >= 1, got '0'"),
                                           (["--width", "x"], "expected an integer >= 1, got 'x'"),
                                           (["--rate", "0"], "expected a finite number in (0, 1], got '0'"),
                                           (["--rate", "nan"], "expected a finite number in (0, 1], got 'nan'")])
def test_an_option_made_from_a_setting_refuses_what_its_rule_refuses(argv, message):
    with pytest.raises(argparse.ArgumentError, match=re.escape(message)):
        parser().parse_args(argv)
    with pytest.raises(SettingsError):          # the library refuses the same value, by the same rule
        Sizes(**{"width": 2, argv[0][2:]: 0})


def test_option_names_follow_the_settings():
    assert option("hidden_dim") == "--hidden-dim" and option("pca_features") == "--no-pca"
    with pytest.raises(argparse.ArgumentTypeError):
        positive_int("0")


def test_a_user_error_is_one_line_and_a_bug_is_a_bug(capsys):
    @user_errors("x")
    def refuses(args):
        raise SettingsError("--width 0 is not a width")

    @user_errors("x")
    def breaks(args):
        raise ValueError("a library bug")

    assert refuses(argparse.Namespace(threads=1)) == 2
    assert capsys.readouterr().err == "minitorch-cap x: error: --width 0 is not a width\n"
    with pytest.raises(ValueError, match="a library bug"):     # not turned into a usage error
        breaks(argparse.Namespace(threads=1))
