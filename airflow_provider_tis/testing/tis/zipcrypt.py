"""Password-protected zip files like the pipeline's ``chr_<N>.zip``: ZipCrypto, or WinZip AES-256 (AE-2).

The standard library can read ZipCrypto but not write it, and knows no AES; this writes both.
AES uses ``cryptography``, which Airflow already installs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
import zlib
from typing import BinaryIO

_CRC_TABLE: list[int] = []  # the CRC-32 table ZipCrypto's key schedule steps through
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0xEDB88320 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


class _ZipCrypto:
    def __init__(self, password: bytes) -> None:
        self.keys = [0x12345678, 0x23456789, 0x34567890]
        for byte in password:
            self._update(byte)

    def _update(self, byte: int) -> None:
        k0, k1, k2 = self.keys
        k0 = (k0 >> 8) ^ _CRC_TABLE[(k0 ^ byte) & 0xFF]
        k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
        k2 = (k2 >> 8) ^ _CRC_TABLE[(k2 ^ (k1 >> 24)) & 0xFF]
        self.keys = [k0, k1, k2]

    def encrypt(self, data: bytes) -> bytes:
        out = bytearray(len(data))
        for i, byte in enumerate(data):
            temp = (self.keys[2] | 2) & 0xFFFF
            out[i] = byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF)
            self._update(byte)
        return bytes(out)


def _aes_encrypt(password: bytes, data: bytes) -> tuple[bytes, bytes]:
    """WinZip AES-256: salt + verifier + AES-CTR(little-endian counter from 1) + HMAC-SHA1[:10]."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    salt = os.urandom(16)
    derived = hashlib.pbkdf2_hmac("sha1", password, salt, 1000, 66)
    key, mac_key, verifier = derived[:32], derived[32:64], derived[64:]
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    blocks = (len(data) + 15) // 16
    counters = b"".join((i + 1).to_bytes(16, "little") for i in range(blocks))
    stream = encryptor.update(counters) + encryptor.finalize()
    cipher = bytes(a ^ b for a, b in zip(data, stream, strict=False))
    mac = hmac.new(mac_key, cipher, hashlib.sha1).digest()[:10]
    return salt + verifier, cipher + mac


def write_encrypted_zip(
    out: BinaryIO, entries: dict[str, bytes], password: str, *, aes: bool = False, padding: int = 0
) -> None:
    """Write a zip whose every entry is deflated and encrypted with ``password``.

    :param padding: bytes of an extra stored, unencrypted entry ``padding.bin`` (makes big test files cheaply).
    """
    central: list[bytes] = []
    offset = 0
    secret = password.encode()
    if padding:
        offset = _write_padding(out, padding, central)
    for name, data in entries.items():
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        compressed = compressor.compress(data) + compressor.flush()
        crc = zlib.crc32(data) & 0xFFFFFFFF
        if aes:
            prefix, body = _aes_encrypt(secret, compressed)
            payload, method, stored_crc = prefix + body, 99, 0
            extra = struct.pack("<HHH2sBH", 0x9901, 7, 2, b"AE", 3, 8)
        else:
            header = os.urandom(11) + bytes([crc >> 24])
            payload, method, stored_crc = _ZipCrypto(secret).encrypt(header + compressed), 8, crc
            extra = b""
        encoded = name.encode()
        fields = struct.pack("<HHHHHIII", 51, 1, method, 0, 0x21, stored_crc, len(payload), len(data))
        local = b"PK\x03\x04" + fields + struct.pack("<HH", len(encoded), len(extra)) + encoded + extra
        out.write(local + payload)
        central.append(
            b"PK\x01\x02"
            + struct.pack("<H", 51)
            + fields
            + struct.pack("<HHHHHII", len(encoded), len(extra), 0, 0, 0, 0, offset)
            + encoded
            + extra
        )
        offset += len(local) + len(payload)
    directory = b"".join(central)
    out.write(directory)
    out.write(
        b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, len(central), len(central), len(directory), offset, 0)
    )


def _write_padding(out: BinaryIO, size: int, central: list[bytes]) -> int:
    block = os.urandom(1 << 20)
    crc = 0
    for start in range(0, size, len(block)):
        crc = zlib.crc32(block[: min(len(block), size - start)], crc)
    name = b"padding.bin"
    fields = struct.pack("<HHHHHIII", 20, 0, 0, 0, 0x21, crc & 0xFFFFFFFF, size, size)
    local = b"PK\x03\x04" + fields + struct.pack("<HH", len(name), 0) + name
    out.write(local)
    for start in range(0, size, len(block)):
        out.write(block[: min(len(block), size - start)])
    central.append(
        b"PK\x01\x02"
        + struct.pack("<H", 20)
        + fields
        + struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, 0)
        + name
    )
    return len(local) + size
