"""The connector's samples, checked by FEBLAM's test kit (run `pytest` in this folder)."""

from pathlib import Path

from connectors.testkit import assert_samples
from feblam_acme_connector import AcmeXmlReads


def test_samples():
    assert_samples(AcmeXmlReads, Path(__file__).resolve().parents[1] / "samples")
