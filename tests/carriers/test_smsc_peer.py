"""The third-party SMSC the SMPP carrier is tested against (tests/support/smsc) starts and serves an ESME.

Only a smoke test: an smpp34 client binds, submits one message and receives its delivery receipt, so that a run
proves the node SMSC installs and starts. The carrier's own tests pin Loft's behaviour against it.
"""

from __future__ import annotations

import asyncio

import smpp34

from tests.support.smsc import ESME_ROK, Smsc
from tests.support.waiting import eventually

# SMPP 3.4 optional parameter tags and the message_state of a delivered message (§5.3.2).
RECEIPTED_MESSAGE_ID = 0x001E
MESSAGE_STATE = 0x0427
DELIVERED = 2
RECEIPT = 0x04  # esm_class: SMSC delivery receipt


async def submit_and_read_receipt(smsc: Smsc, text: bytes) -> tuple[smpp34.SubmitSmResp, smpp34.DeliverSmEvent]:
    client = smpp34.Client(host=smsc.host, port=smsc.port, system_id=smsc.system_id, password=smsc.password,
                           bind_type="TRX")
    session = await client.connect()
    try:
        answer = await session.submit_sm("14155550100", text, source_addr="14155550199", registered_delivery=1)
        receipt = await asyncio.wait_for(session.next(), 10)
    finally:
        await session.unbind()
        await client.stop()
    assert isinstance(receipt, smpp34.DeliverSmEvent), receipt
    return answer, receipt


def test_an_esme_binds_submits_and_receives_the_receipt(smsc: Smsc) -> None:
    answer, receipt = asyncio.run(submit_and_read_receipt(smsc, b"hello from Loft"))

    assert answer.is_success and answer.message_id
    [submit] = smsc.submits()
    assert (submit.source, submit.destination, submit.text, submit.status, submit.message_id) == (
        "14155550199", "14155550100", "hello from Loft", ESME_ROK, answer.message_id)
    assert (receipt.esm_class, receipt.source_addr, receipt.destination_addr) == (RECEIPT, "14155550100", "14155550199")
    assert receipt.short_message.startswith(f"id:{answer.message_id} sub:001 dlvrd:001 submit date:".encode())
    assert receipt.short_message.endswith(b" stat:DELIVRD err:000 text:hello from Loft")
    optional = {tlv.tag: tlv.value for tlv in receipt.tlvs}
    assert optional[RECEIPTED_MESSAGE_ID] == answer.message_id.encode() + b"\0"
    assert optional[MESSAGE_STATE] == bytes([DELIVERED])
    # The ESME acknowledged the receipt, and unbound at the end.
    assert eventually(lambda: [delivery.status for delivery in smsc.deliveries()] == [ESME_ROK])
    assert [(bind.mode, bind.status, bind.bound) for bind in smsc.binds()] == [("transceiver", ESME_ROK, False)]
