"""The carriers of one process: the simulator, always, and the network carriers this process runs.

Every process knows the plan (which carriers exist, which destinations go to each: :mod:`.plan`), so that the API
can record a send for the right carrier and the relay's webhooks can be verified anywhere. Only the processes
that deliver *run* network carriers, and of those only as many as each carrier's ``instances`` says: with
``one`` (the default), a single process of the deployment holds its connection (``loft serve`` gives that role
to its own worker, or to its first ``loft worker`` child); with ``per-worker``, every delivering process holds
one. Sends for a carrier are claimed only by processes that run it (:class:`loft.delivery.outbox.Claims`).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import TYPE_CHECKING, Any

from loft import metrics
from loft.delivery import outbox
from loft.delivery.carriers.base import Carrier, Intake
from loft.delivery.carriers.plan import SIM, Plan, SmppSettings, TwilioSettings
from loft.delivery.carriers.sim import SimCarrier
from loft.errors import ConfigurationError

if TYPE_CHECKING:
    from loft.context import Loft

log = logging.getLogger("loft.carriers")

#: Carrier type → the class that implements it, imported when a process runs one.
TYPES = {"smpp": "loft.delivery.carriers.smpp:SmppCarrier", "twilio": "loft.delivery.carriers.relay:RelayCarrier"}


def build(name: str, settings: SmppSettings | TwilioSettings, loft: Loft) -> Carrier:
    module, _, cls = TYPES[settings.type].partition(":")
    try:
        factory: Any = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        raise ConfigurationError(f"carrier {name}: type {settings.type!r} cannot run here ({exc})") from exc
    carrier: Carrier = factory(name, settings, loft)
    return carrier


class Carriers:
    """The simulator, the plan, and the network carriers started in this process."""

    def __init__(self, plan: Plan, here: str) -> None:
        self.plan = plan
        self.sim = SimCarrier()
        #: ``all`` / ``per-worker`` / ``none``: which of the plan's carriers this process would run (Settings).
        self.here = here
        self._running: dict[str, Carrier] = {}
        metrics.carrier_up(SIM, True)

    def route(self, to: str) -> str:
        """The name of the carrier that takes messages to ``to`` (``sim``: the simulator)."""
        return self.plan.route(to)

    def runs(self, name: str) -> bool:
        """Whether this process runs the carrier ``name`` (when it delivers at all)."""
        carrier = self.plan.carriers.get(name)
        if carrier is None or self.here == "none":
            return False
        return self.here == "all" or carrier.instances == "per-worker"

    def claims(self) -> outbox.Claims:
        """The jobs this process's worker claims now: those any worker runs, the sends of its carriers that are up
        (a carrier's sends wait in the outbox, claimed by nobody, while its connection is down), and, in the
        process that runs every carrier, sends naming a carrier the plan no longer has, to route them again."""
        up = []
        for name, carrier in self._running.items():
            metrics.carrier_up(name, carrier.up)
            if carrier.up:
                up.append(name)
        return outbox.Claims(runs=tuple(sorted(up)), known=tuple(sorted(self.plan.carriers)),
                             strays=self.here == "all")

    def get(self, name: str) -> Carrier | None:
        """The running network carrier ``name`` (None: not running in this process)."""
        return self._running.get(name)

    def states(self) -> dict[str, bool]:
        """Each carrier this process runs, and whether it can take messages now (the simulator always can)."""
        return {SIM: True, **{name: carrier.up for name, carrier in self._running.items()}}

    async def start(self, loft: Loft, intake: Intake) -> None:
        """Start the network carriers this process runs (each connects in the background)."""
        for name, settings in self.plan.carriers.items():
            if self.runs(name) and name not in self._running:
                carrier = build(name, settings, loft)
                await carrier.start(intake)
                self._running[name] = carrier
                log.info("carrier %s (%s) started", name, settings.type)

    async def stop(self) -> None:
        running, self._running = list(self._running.values()), {}
        results = await asyncio.gather(*(carrier.stop() for carrier in running), return_exceptions=True)
        for carrier, result in zip(running, results):
            if isinstance(result, BaseException):
                log.error("carrier %s did not stop cleanly", carrier.name, exc_info=result)
