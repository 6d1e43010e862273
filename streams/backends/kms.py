"""A key wrapper on AWS KMS: data keys are encrypted by a KMS key and unwrapped by a call
to KMS (cached per process by the key store). Untested against AWS here: no KMS runs in the
test environment. Configure it as
``FLIPBOOK_PERSONAL_DATA = {"KEY_WRAPPER": {"BACKEND": "streams.backends.kms.KmsKeyWrapper",
"OPTIONS": {"key_id": "arn:aws:kms:...", "region_name": "eu-west-1"}}}``."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from streams.personal_data.keys import KeyWrapper


class KmsKeyWrapper(KeyWrapper):
    """Wrap data keys with KMS Encrypt/Decrypt under ``key_id``, the flipbook key id bound
    as encryption context."""

    name = "kms"

    def __init__(
        self, *, key_id: str, region_name: str | None = None, endpoint_url: str | None = None
    ) -> None:
        self.key_id = key_id
        self._client: Any = boto3.session.Session().client(
            "kms", region_name=region_name, endpoint_url=endpoint_url
        )

    def wrap(self, data_key: bytes, key_id: str) -> bytes:
        try:
            answer = self._client.encrypt(
                KeyId=self.key_id,
                Plaintext=data_key,
                EncryptionContext={"flipbook_data_key": key_id},
            )
        except (BotoCoreError, ClientError) as exc:
            raise ValueError(f"KMS refused to wrap a data key: {exc}") from exc
        blob: bytes = answer["CiphertextBlob"]
        return blob

    def unwrap(self, wrapped: bytes, key_id: str) -> bytes:
        try:
            answer = self._client.decrypt(
                KeyId=self.key_id,
                CiphertextBlob=wrapped,
                EncryptionContext={"flipbook_data_key": key_id},
            )
        except (BotoCoreError, ClientError) as exc:
            raise ValueError(f"KMS refused to unwrap a data key: {exc}") from exc
        plain: bytes = answer["Plaintext"]
        return plain
