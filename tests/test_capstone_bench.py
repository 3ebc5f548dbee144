"""The capstone's answer key reaches the digits target with margin (bench/capstone_digits.py measures 20 seeds)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import capstone_digits  # noqa: E402


def test_answer_key_reaches_97_percent_on_three_seeds():
    rows = capstone_digits.measure([0, 1, 2])
    accuracies = [accuracy for _, accuracy, _ in rows]
    assert min(accuracies) >= 0.97, rows  # the check asks for 0.95; the answer key reaches 0.97 on 20 seeds
