"""Test-wide settings: the notebooks and tests run with the small ``ci`` profile unless told
otherwise, and TensorFlow keeps its start-up log quiet."""

import os

os.environ.setdefault("VAECOURSE_PROFILE", "ci")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
