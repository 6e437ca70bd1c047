"""An account has at most ``LOFT_MAX_SCHEDULED_PER_ACCOUNT`` messages ``scheduled`` (Twilio's 500,000; 2 here):
one more is refused with 35125 and stored nowhere; a message that leaves the status (canceled, or sent when its
time comes) makes room again; each account counts its own (loft.messages.scheduled)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from twilio.rest import Client

from tests.messaging_services.conftest import refused
from tests.support import clients
from tests.support.server import LoftServer
from tests.support.sim import Sim, status_of
from tests.support.waiting import eventually


def _pooled(client: Client) -> str:
    number = client.incoming_phone_numbers.create(area_code="415")
    service = client.messaging.v1.services.create(friendly_name="scheduling")
    client.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=number.sid)
    return str(service.sid)


def test_an_account_schedules_at_most_its_limit(own: LoftServer) -> None:
    own.extra_env = {"LOFT_MAX_SCHEDULED_PER_ACCOUNT": "2"}
    with own.running():
        main = clients.sdk(own.base_url, own.account_sid, own.auth_token)
        sim = Sim(own.base_url, (own.account_sid, own.auth_token))
        try:
            service = _pooled(main)
            now = datetime.strptime(sim.clock()["now"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

            def schedule(client: Client, service_sid: str, minutes: int) -> str:
                return str(client.messages.create(to="+15558675001", messaging_service_sid=service_sid, body="later",
                                                  schedule_type="fixed",
                                                  send_at=now + timedelta(minutes=minutes)).sid)

            soon, later = schedule(main, service, 10), schedule(main, service, 60)
            answer = refused(lambda: schedule(main, service, 60))
            assert (answer.status, answer.code) == (400, 35125)
            assert len(main.messages.list()) == 2  # the refused one is stored nowhere
            now_sent = main.messages.create(to="+15558675002", messaging_service_sid=service, body="now")
            assert now_sent.status == "accepted"  # a send that leaves now is not counted

            child = main.api.accounts.create(friendly_name="its own count")
            sub = clients.sdk(own.base_url, child.sid, child.auth_token)
            sub_service = _pooled(sub)
            assert [schedule(sub, sub_service, 60) for _ in range(2)]
            assert refused(lambda: schedule(sub, sub_service, 60)).code == 35125

            main.messages(later).update(status="canceled")  # canceled: room for one
            again = schedule(main, service, 60)
            assert refused(lambda: schedule(main, service, 60)).code == 35125

            sim.advance(11 * 60)  # the first one's time comes: it leaves, and makes room
            assert eventually(lambda: status_of(main, soon) == "delivered", timeout=15)
            assert status_of(main, again) == "scheduled"
            schedule(main, service, 60)
            assert refused(lambda: schedule(main, service, 60)).code == 35125
        finally:
            sim.http.close()
