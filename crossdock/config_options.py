"""Each platform's channel keys: ``[channels.NAME.options]`` and ``[channels.NAME.urls]``.

Each platform folder declares its own keys (``crossdock/connectors/<platform>/options.py``,
its ``PlatformSpec.options`` / ``urls``); the tables here read them all through
the platform registry, keyed by platform name, for the config schema
(:mod:`crossdock.config_keys`). The options are the platform settings that the
channel table does not already set; the channel passes them to the settings as
they are. tests/core/test_config_schema.py checks that every declared key is a
field of the settings class with the same default, and that no settings field
is left undeclared.
"""

from __future__ import annotations

from collections.abc import Mapping

from crossdock.config_schema import TEXT, Key, table_of
from crossdock.platforms.registry import RegistryView

#: ``carrier_overrides``, an option every platform that confirms shipments with carrier codes may take.
CARRIER_OVERRIDES = Key("carrier_overrides", table_of(TEXT), "crossdock carrier name = the platform's carrier code, "
                        "for carriers the built-in table does not know or names differently.", default=None)

#: ``[channels.NAME.options]`` keys per platform.
PLATFORM_OPTIONS: Mapping[str, tuple[Key, ...]] = RegistryView(lambda spec: {spec.name: tuple(spec.options)})
#: ``[channels.NAME.urls]``: endpoints besides ``base_url`` and ``auth_url``, per platform.
PLATFORM_URLS: Mapping[str, tuple[Key, ...]] = RegistryView(lambda spec: {spec.name: tuple(spec.urls)})
#: Settings fields the channel table itself provides (not options), per platform.
CHANNEL_PROVIDED: Mapping[str, frozenset[str]] = RegistryView(lambda spec: {spec.name: spec.channel_provided})
#: Settings fields deliberately not configurable per channel, and why, per platform.
NOT_OPTIONS: Mapping[str, Mapping[str, str]] = RegistryView(lambda spec: {spec.name: spec.not_options})
