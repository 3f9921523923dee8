"""Traffic profiles (CONTRACT §14): what happens to recipients after a send, per sandbox.

A profile says how long each stage takes (``channel``, ``user``, ``read``, ``reply``: each after the
previous one, fixed or log-normal by its median and 95th percentile), which share of delivered
messages is read and of read ones replied to, which share fails with which WhatsApp error (at send,
or at delivery after reaching the channel), how fast a bot / application sends (``throughput.mps``)
and how many distinct recipients it may reach in any rolling 24 hours (``tier``).

Built-in profiles: ``ideal`` (the ``delivery.*`` settings: today's behaviour, the default),
``realistic`` and ``degraded`` (values and their sources: ``docs/profiles.md``). Settings
``delivery.profiles`` add or override profiles (not ``ideal``: change ``delivery.*`` for that) and
``delivery.profile`` names the default of new sandboxes. A profile given inline is ``custom``.

:func:`parse` validates a profile given as plain data (every key optional: a missing one takes
the ``ideal`` value) and raises :class:`ProfileError` naming the field; :class:`Profile` is the
resolved, frozen value, whose :meth:`Profile.to_json` text a campaign or task keeps (it keeps the
profile it was accepted with). How fates are drawn from a profile: ``mock_server.fates``.
"""

from .catalogue import Catalogue, SandboxProfiles
from .parse import parse
from .values import (BUILT_IN, CUSTOM, IDEAL, MAX_DELAY, MAX_FAILURES, MAX_MPS, OVERFLOWS, STAGES, TITLES, Delay,
                     Failure, Profile, ProfileError, Tier, format_duration, ideal_profile)

__all__ = ["BUILT_IN", "CUSTOM", "IDEAL", "MAX_DELAY", "MAX_FAILURES", "MAX_MPS", "OVERFLOWS", "STAGES", "TITLES",
           "Catalogue", "Delay", "Failure", "Profile", "ProfileError", "SandboxProfiles", "Tier", "format_duration",
           "ideal_profile", "parse"]
