"""The API tests of this app run with the API cast and a client per caller (tests/worlds/api_cast.py)."""
from tests.worlds.api_cast import *  # noqa: F401,F403
