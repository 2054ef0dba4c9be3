import pytest

pytest.register_assert_rewrite("riverbed.testing.contracts")
