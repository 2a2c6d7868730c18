"""SizedReader: an upload sends exactly the size announced up front, or fails at once naming the file."""

from __future__ import annotations

import io

import pytest

from airflow_provider_tis.core.errors import (
    ConfigError as TisConfigError,
)  # the core raises the base; hooks pass their own class
from airflow_provider_tis.core.upload import SizedReader


def read_all(reader: SizedReader, block: int = 4) -> bytes:
    data = b""
    while chunk := reader.read(block):
        data += chunk
    return data


def test_reads_exactly_the_announced_size():
    reader = SizedReader(io.BytesIO(b"0123456789"), 10, name="a.vcf.gz")
    assert reader.len == 10
    assert read_all(reader) == b"0123456789" and reader.len == 0 and reader.tell() == 10


def test_a_file_shorter_than_announced_fails_naming_it_and_both_sizes():
    reader = SizedReader(io.BytesIO(b"01234"), 10, name="/data/chr20.vcf.gz")
    with pytest.raises(TisConfigError, match="changed during the upload") as raised:
        read_all(reader)
    message = str(raised.value)
    assert "/data/chr20.vcf.gz" in message and "10 bytes" in message and "5 bytes" in message


def test_a_file_longer_than_announced_fails_too():
    reader = SizedReader(io.BytesIO(b"0123456789abc"), 10, name="chr20.vcf.gz")
    with pytest.raises(TisConfigError, match=r"changed during the upload.*grew"):
        read_all(reader)


def test_read_without_a_size_reads_the_rest():
    reader = SizedReader(io.BytesIO(b"0123456789"), 10, name="a.vcf.gz")
    assert reader.read(3) == b"012" and reader.read() == b"3456789" and reader.read() == b""
