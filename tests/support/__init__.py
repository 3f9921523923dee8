"""Helpers the tests import (not tests themselves): one module per area."""
