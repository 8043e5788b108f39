"""files.py: from_record, the one rule for reading a settings record (TrainerConfig's and DataSpec's)."""

import pytest

from minitorch_cap import __version__
from minitorch_cap.data.files import from_record
from minitorch_cap.data.spec import DataSpec
from minitorch_cap.nn.checks import SettingsError
from minitorch_cap.training.config import TrainerConfig


@pytest.mark.parametrize("cls", [DataSpec, TrainerConfig])
def test_a_record_with_options_this_version_does_not_know_is_refused_naming_them(cls):
    """DataSpec.from_dict ignored unknown keys while TrainerConfig.from_dict refused them: one rule, refused
    (a newer version's data option, ignored, would load other data silently)."""
    record = cls().to_dict()
    assert from_record(cls, record) == cls.from_dict(record) == cls()
    with pytest.raises(SettingsError, match=rf"{cls.__name__}: unknown options \['augment', 'zeta'\], not in "
                                            rf"minitorch_cap {__version__}'s records \(written by a newer version"):
        cls.from_dict({**record, "zeta": 1, "augment": True})


def test_a_record_of_an_earlier_version_lacks_keys_and_takes_their_defaults():
    """0.2.0 recorded no region_features (DataSpec); every TrainerConfig option came later than batch_size."""
    assert DataSpec.from_dict({"data_dir": None, "max_train": 5, "max_val": None, "data_seed": 0,
                               "pca_features": None}) == DataSpec(max_train=5)
    assert TrainerConfig.from_dict({"batch_size": 7}) == TrainerConfig(batch_size=7)
    assert from_record(TrainerConfig, {"batch_size": 7}, num_epochs=2).num_epochs == 2       # overrides on top
