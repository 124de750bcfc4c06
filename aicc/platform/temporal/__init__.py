"""Temporal, secured: the payload codec (``codec``), the one connect function (``connect``) and the
codec server for operators (``codec_server``). See ARCHITECTURE.md, "Temporal is not a side door"."""

from aicc.platform.temporal.codec import CodecKeys, PayloadRefused, data_converter, keys_from_settings
from aicc.platform.temporal.connect import connect, tls_config

__all__ = ["CodecKeys", "PayloadRefused", "connect", "data_converter", "keys_from_settings", "tls_config"]
