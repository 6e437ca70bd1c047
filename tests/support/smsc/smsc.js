'use strict';
// A third-party SMSC for Loft's tests: an SMPP 3.4 server on node-smpp, and a small HTTP JSON API to steer it.
//
//   node smsc.js [--port N] [--control-port N] [--system-id ID] [--password PW]
//   (or SMSC_PORT, SMSC_CONTROL_PORT, SMSC_SYSTEM_ID, SMSC_PASSWORD; a port of 0 picks a free one)
//
// Once both listen on 127.0.0.1 it prints one line, {"smpp_port": N, "control_port": N}, and logs to stderr.
// The control API (JSON in, JSON out):
//   GET  /submits      every submit_sm received, accepted or not, in order
//   GET  /deliveries   every deliver_sm sent (receipts and MO) with the ESME's answer
//   GET  /binds        every bind attempt, whether it is still bound, and whether the ESME unbound it
//   GET  /config       the settings below;  POST /config changes some of them:
//        receipt {stat, err}           the default outcome (DELIVRD, UNDELIV, REJECTD, EXPIRED, ...; err "000")
//        outcomes {"<destination>": {stat, err, delay_ms, status}}   per destination; status rejects the
//                                      submit_sm itself (an ESME_* name or a number)
//        receipt_delay_ms              how long after the submit_sm_resp a receipt is sent
//        response_delay_ms             how long each submit_sm_resp waits (a huge value: never answered)
//        throttle {count, status}      answer the next count submit_sm with status (ESME_RTHROTTLED, ESME_RMSGQFUL)
//        reject_all                    answer every submit_sm with this status (null: accept again)
//        bare_bind_errors              refused binds answered by a header alone (node-smpp's way) instead of
//                                      a bind_resp that still carries the system_id
//   POST /mo           {source, destination, text, encoding: gsm|ucs2|latin1, concat: udh|sar|payload,
//                       part_octets, reverse}: a mobile-originated deliver_sm, split when too long for one
//   POST /disconnect   {unbind: bool}: drop every ESME connection (after an unbind when asked)
//   POST /reset        forget submits, deliveries, pending receipts and settings (bound sessions stay)
const http = require('http');
const crypto = require('crypto');
const smpp = require('smpp');

// Raw bytes both ways: node-smpp's text filters guess encodings; this SMSC decodes and encodes text itself.
delete smpp.commands.submit_sm.params.short_message.filter;
delete smpp.commands.deliver_sm.params.short_message.filter;
delete smpp.tlvs.message_payload.filter;

function option(name, variable, fallback) {
  const at = process.argv.indexOf('--' + name);
  if (at > 0 && at + 1 < process.argv.length) return process.argv[at + 1];
  return process.env[variable] !== undefined ? process.env[variable] : fallback;
}

const settings = {
  port: Number(option('port', 'SMSC_PORT', '0')),
  controlPort: Number(option('control-port', 'SMSC_CONTROL_PORT', '0')),
  systemId: option('system-id', 'SMSC_SYSTEM_ID', 'loft'),
  password: option('password', 'SMSC_PASSWORD', 'secret'),
};
const MESSAGE_STATES = {DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8};
const BIND_MODES = {bind_transceiver: 'transceiver', bind_transmitter: 'transmitter', bind_receiver: 'receiver'};
const E = smpp.errors;

function defaults() {
  return {receipt: {stat: 'DELIVRD', err: '000'}, outcomes: {}, receipt_delay_ms: 0, response_delay_ms: 0,
          throttle: {count: 0, status: E.ESME_RTHROTTLED}, reject_all: null, bare_bind_errors: false};
}
let config = defaults();
let submits = [];
let deliveries = [];
let binds = [];
let lastBind = 0;
let waiting = [];  // deliveries that found no bound receiver yet: sent when one binds
const timers = new Set();
// Unique across restarts on the same port, as a real SMSC's ids are: a per-process prefix and a counter.
const idPrefix = crypto.randomBytes(2).toString('hex');
let lastId = 0;

function log(...words) {
  console.error(new Date().toISOString(), ...words);
}

// -- Text: GSM 03.38 (unpacked, one septet per octet), IA5, Latin-1, UCS-2 ------------------------------------------

function decodeText(bytes, dataCoding) {
  switch (dataCoding) {
    case 0: return smpp.gsmCoder.decode(bytes, 0);
    case 1: return bytes.toString('ascii');
    case 3: return bytes.toString('latin1');
    case 8: return Buffer.from(bytes).swap16().toString('utf16le');
    default: return null;
  }
}

const ENCODINGS = {
  gsm: {dataCoding: 0, single: 160, part: 153, encode: text => smpp.gsmCoder.encode(text, 0),
        splits: (bytes, at) => bytes[at - 1] !== 0x1b},  // never between an escape and its character
  latin1: {dataCoding: 3, single: 140, part: 134, encode: text => Buffer.from(text, 'latin1'), splits: () => true},
  ucs2: {dataCoding: 8, single: 140, part: 134, encode: text => Buffer.from(text, 'utf16le').swap16(),
         splits: (bytes, at) => at % 2 === 0 && (bytes[at - 2] & 0xfc) !== 0xd8},  // not inside a surrogate pair
};

function chunks(bytes, encoding, size) {
  const parts = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + size, bytes.length);
    while (end < bytes.length && end > start + 1 && !encoding.splits(bytes, end)) end--;
    parts.push(bytes.subarray(start, end));
    start = end;
  }
  return parts;
}

// -- What an ESME sent ------------------------------------------------------------------------------------------------

function parseUdh(header) {
  const found = {hex: header.toString('hex')};
  for (let at = 0; at + 1 < header.length; at += 2 + header[at + 1]) {
    const [id, length] = [header[at], header[at + 1]];
    if (id === 0x00 && length === 3) Object.assign(found, {ref: header[at + 2], total: header[at + 3], seq: header[at + 4]});
    if (id === 0x08 && length === 4) {
      Object.assign(found, {ref: header.readUInt16BE(at + 2), total: header[at + 4], seq: header[at + 5]});
    }
  }
  return found;
}

function describe(pdu, bind) {
  const payload = pdu.message_payload || null;
  let body = payload || pdu.short_message || Buffer.alloc(0);
  let udh = null;
  if (pdu.esm_class & 0x40 && body.length) {
    udh = parseUdh(body.subarray(1, 1 + body[0]));
    body = body.subarray(1 + body[0]);
  }
  const sar = pdu.sar_msg_ref_num === undefined ? null
    : {ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum};
  return {
    bind: bind.id, sequence_number: pdu.sequence_number, received_at: new Date().toISOString(),
    source: pdu.source_addr, source_ton: pdu.source_addr_ton, source_npi: pdu.source_addr_npi,
    destination: pdu.destination_addr, destination_ton: pdu.dest_addr_ton, destination_npi: pdu.dest_addr_npi,
    service_type: pdu.service_type, esm_class: pdu.esm_class, data_coding: pdu.data_coding,
    registered_delivery: pdu.registered_delivery, validity_period: pdu.validity_period,
    udh, sar, message_payload: payload ? payload.toString('hex') : null,
    short_message: (pdu.short_message || Buffer.alloc(0)).toString('hex'), text: decodeText(body, pdu.data_coding),
    status: 0, message_id: null,
  };
}

// -- Toward the ESMEs: receipts and MO ----------------------------------------------------------------------------------

function receivers(preferred) {
  const bound = server.sessions.filter(s => s.bind && s.bind.bound && s.bind.mode !== 'transmitter');
  return preferred && bound.includes(preferred) ? [preferred, ...bound] : bound;
}

// Every deliver_sm is recorded once, when it is first handed over; deliver() may send it again.
function queue(delivery, preferred) {
  deliveries.push(delivery);
  deliver(delivery, preferred);
}

function deliver(delivery, preferred) {
  const [session] = receivers(preferred);
  if (!session) {
    waiting.push(delivery);
    return;
  }
  delivery.attempts += 1;
  session.inFlight.add(delivery);
  session.deliver_sm({...delivery.fields}, response => {
    session.inFlight.delete(delivery);
    delivery.status = response.command_status;
    delivery.bind = session.bind.id;
    log('deliver_sm', delivery.kind, 'answered', response.command_status);
  });
}

function later(delayMs, action) {
  if (!delayMs) {
    action();
    return;
  }
  const timer = setTimeout(() => { timers.delete(timer); action(); }, delayMs);
  timers.add(timer);
}

function stamp(date) {
  return date.toISOString().replace(/\D/g, '').slice(2, 12);  // YYMMDDhhmm, UTC
}

function sendReceipt(submit, outcome, session) {
  const err = String(outcome.err).padStart(3, '0');
  const text = `id:${submit.message_id} sub:001 dlvrd:${outcome.stat === 'DELIVRD' ? '001' : '000'} ` +
    `submit date:${stamp(new Date(submit.received_at))} done date:${stamp(new Date())} stat:${outcome.stat} ` +
    `err:${err} text:${(submit.text || '').slice(0, 20)}`;
  queue({
    kind: 'receipt', message_id: submit.message_id, text, status: null, attempts: 0,
    fields: {
      source_addr_ton: submit.destination_ton, source_addr_npi: submit.destination_npi, source_addr: submit.destination,
      dest_addr_ton: submit.source_ton, dest_addr_npi: submit.source_npi, destination_addr: submit.source,
      esm_class: 0x04, data_coding: 0, short_message: ENCODINGS.gsm.encode(text),
      receipted_message_id: submit.message_id, message_state: MESSAGE_STATES[outcome.stat],
    },
  }, session);
}

function receiptWanted(registeredDelivery, delivered) {
  const asked = registeredDelivery & 0x03;  // 1: always, 2: on failure, 3: on success (SMPP 5.0's meaning)
  return asked === 1 || (asked === 2 && !delivered) || (asked === 3 && delivered);
}

function sendMo(request) {
  const text = String(request.text || '');
  const name = request.encoding || (smpp.gsmCoder.GSM.charRegex.test(text) ? 'gsm' : 'ucs2');
  const encoding = ENCODINGS[name];
  if (!encoding) throw new Error(`unknown encoding ${name}: gsm, ucs2 or latin1`);
  const bytes = encoding.encode(text);
  const concat = request.concat || 'udh';
  if (!['udh', 'sar', 'payload'].includes(concat)) throw new Error(`unknown concat ${concat}: udh, sar or payload`);
  const split = concat !== 'payload' && (request.part_octets || bytes.length > encoding.single);
  const parts = split ? chunks(bytes, encoding, Number(request.part_octets) || encoding.part) : [bytes];
  if (parts.length > 255) throw new Error('too long: more than 255 parts');
  const ref = crypto.randomInt(1, 256);
  const base = {source_addr_ton: 1, source_addr_npi: 1, source_addr: number(request.source),
                dest_addr_ton: 1, dest_addr_npi: 1, destination_addr: number(request.destination),
                esm_class: 0, data_coding: encoding.dataCoding};
  const total = parts.length;
  const fields = parts.map((part, index) => {
    if (concat === 'payload') return {...base, short_message: Buffer.alloc(0), message_payload: part};
    if (total === 1) return {...base, short_message: part};
    if (concat === 'sar') {
      return {...base, short_message: part, sar_msg_ref_num: ref, sar_total_segments: total, sar_segment_seqnum: index + 1};
    }
    const udh = Buffer.from([0x05, 0x00, 0x03, ref, total, index + 1]);
    return {...base, esm_class: 0x40, short_message: Buffer.concat([udh, part])};
  });
  const pieces = fields.map((pdu, index) => ({
    kind: 'mo', message_id: null, text: decodeText(parts[index], encoding.dataCoding), status: null, attempts: 0,
    fields: pdu}));
  if (request.reverse) pieces.reverse();
  pieces.forEach(piece => queue(piece));
  return {parts: total, ref: total > 1 ? ref : null, data_coding: encoding.dataCoding};
}

// -- The SMPP side ------------------------------------------------------------------------------------------------------

function number(address) {
  return String(address || '').replace(/^\+/, '');  // "+14155550100" and "14155550100" are one destination
}

function statusCode(value) {
  if (value === null || value === undefined) return null;
  const code = typeof value === 'number' ? value : E[value];
  if (code === undefined) throw new Error(`unknown command_status ${value}`);
  return code;
}

// node-smpp writes an error response as a header alone; many SMSCs still send the bind_resp's system_id.
function refuse(session, pdu, status) {
  if (config.bare_bind_errors) {
    session.send(pdu.response({command_status: status}));
    return;
  }
  const body = Buffer.from('LOFTSMSC\0', 'ascii');
  const header = Buffer.alloc(16);
  [16 + body.length, (pdu.command_id | 0x80000000) >>> 0, status, pdu.sequence_number]
    .forEach((value, index) => header.writeUInt32BE(value, index * 4));
  session.socket.write(Buffer.concat([header, body]));
}

function onBind(session, pdu) {
  const bind = {id: ++lastBind, mode: BIND_MODES[pdu.command], system_id: pdu.system_id, status: 0,
                bound: false, unbound: false, enquire_links: 0, at: new Date().toISOString()};
  binds.push(bind);
  if (session.bind && session.bind.bound) bind.status = E.ESME_RALYBND;
  else if (pdu.system_id !== settings.systemId) bind.status = E.ESME_RBINDFAIL;
  else if (pdu.password !== settings.password) bind.status = E.ESME_RINVPASWD;
  log(pdu.command, pdu.system_id, 'status', bind.status);
  if (bind.status) {
    refuse(session, pdu, bind.status);
    return;
  }
  bind.bound = true;
  session.bind = bind;
  session.send(pdu.response({system_id: 'LOFTSMSC', sc_interface_version: 0x34}));
  if (bind.mode !== 'transmitter') {
    const queued = waiting;
    waiting = [];
    queued.forEach(delivery => deliver(delivery, session));
  }
}

function onSubmit(session, pdu) {
  const bind = session.bind;
  if (!bind || !bind.bound || bind.mode === 'receiver') {
    session.send(pdu.response({command_status: E.ESME_RINVBNDSTS}));
    return;
  }
  const submit = describe(pdu, bind);
  const outcome = {...config.receipt, ...(config.outcomes[number(submit.destination)] || {})};
  if (config.throttle.count > 0) {
    config.throttle.count -= 1;
    submit.status = config.throttle.status;
  } else {
    submit.status = config.reject_all || statusCode(outcome.status) || 0;
  }
  if (!submit.status) submit.message_id = idPrefix + String(++lastId).padStart(6, '0');
  submits.push(submit);
  log('submit_sm', submit.source, '->', submit.destination, 'status', submit.status, submit.message_id || '');
  const response = pdu.response(submit.status ? {command_status: submit.status} : {message_id: submit.message_id});
  later(config.response_delay_ms, () => {
    session.send(response);
    if (!submit.status && receiptWanted(submit.registered_delivery, outcome.stat === 'DELIVRD')) {
      later(outcome.delay_ms === undefined ? config.receipt_delay_ms : outcome.delay_ms,
            () => sendReceipt(submit, outcome, session));
    }
  });
}

const HANDLED = new Set(['enquire_link', 'unbind', 'submit_sm', ...Object.keys(BIND_MODES)]);

const server = smpp.createServer(session => {
  session.inFlight = new Set();
  for (const command of Object.keys(BIND_MODES)) session.on(command, pdu => onBind(session, pdu));
  session.on('submit_sm', pdu => onSubmit(session, pdu));
  session.on('enquire_link', pdu => {
    if (session.bind) session.bind.enquire_links += 1;
    session.send(pdu.response());
  });
  session.on('unbind', pdu => {
    if (session.bind) Object.assign(session.bind, {bound: false, unbound: true});
    session.send(pdu.response(), () => session.close());
  });
  session.on('pdu', pdu => {
    if (!pdu.isResponse() && !HANDLED.has(pdu.command)) {
      session.send(pdu.command === 'unknown' ? pdu.response() : pdu.response({command_status: E.ESME_RINVCMDID}));
    }
  });
  session.on('error', error => log('connection error', error.code || error.message));
  session.on('close', () => {
    if (session.bind) session.bind.bound = false;
    // What was sent and never answered is sent again to the next receiver, as an SMSC retries.
    const unanswered = [...session.inFlight];
    session.inFlight.clear();
    unanswered.forEach(delivery => deliver(delivery));
  });
});

// -- The control API ----------------------------------------------------------------------------------------------------

function configure(change) {
  const next = {...config, outcomes: {...config.outcomes}};
  for (const [key, value] of Object.entries(change)) {
    if (key === 'receipt') next.receipt = {...config.receipt, ...value};
    else if (key === 'outcomes') Object.entries(value).forEach(([to, outcome]) => { next.outcomes[number(to)] = outcome; });
    else if (key === 'receipt_delay_ms' || key === 'response_delay_ms') next[key] = Number(value) || 0;
    else if (key === 'bare_bind_errors') next.bare_bind_errors = Boolean(value);
    else if (key === 'throttle') next.throttle = {count: Number(value.count) || 0, status: statusCode(value.status || 'ESME_RTHROTTLED')};
    else if (key === 'reject_all') next.reject_all = value === true ? E.ESME_RSUBMITFAIL : statusCode(value || null);
    else throw new Error(`unknown setting ${key}`);
  }
  for (const outcome of [next.receipt, ...Object.values(next.outcomes)]) {
    if (outcome.stat !== undefined && !(outcome.stat in MESSAGE_STATES)) throw new Error(`unknown stat ${outcome.stat}`);
    statusCode(outcome.status);
  }
  config = next;
  return config;
}

function reset() {
  timers.forEach(clearTimeout);
  timers.clear();
  config = defaults();
  [submits, deliveries, waiting] = [[], [], []];
  binds = binds.filter(bind => bind.bound);
  return {reset: true};
}

function disconnect(request) {
  const sessions = [...server.sessions];
  for (const session of sessions) {
    if (session.bind) session.bind.bound = false;
    if (request.unbind) {
      session.unbind(() => session.destroy());
      setTimeout(() => session.destroy(), 1000);  // an ESME that never answers the unbind
    } else {
      session.destroy();
    }
  }
  return {disconnected: sessions.length};
}

function view(delivery) {
  const {fields, ...seen} = delivery;
  return {...seen, source: fields.source_addr, destination: fields.destination_addr, esm_class: fields.esm_class,
          data_coding: fields.data_coding, short_message: fields.short_message.toString('hex'),
          message_payload: fields.message_payload ? fields.message_payload.toString('hex') : null,
          sar: fields.sar_msg_ref_num === undefined ? null
            : {ref: fields.sar_msg_ref_num, total: fields.sar_total_segments, seq: fields.sar_segment_seqnum}};
}

const routes = {
  'GET /submits': () => ({submits}),
  'GET /deliveries': () => ({deliveries: deliveries.map(view)}),
  'GET /binds': () => ({binds}),
  'GET /config': () => config,
  'POST /config': configure,
  'POST /mo': sendMo,
  'POST /disconnect': disconnect,
  'POST /reset': reset,
};

const control = http.createServer((request, response) => {
  const chunks = [];
  request.on('data', chunk => chunks.push(chunk));
  request.on('end', () => {
    const route = routes[`${request.method} ${request.url.split('?')[0]}`];
    let status = 200;
    let answer;
    try {
      if (!route) [status, answer] = [404, {error: `no route ${request.method} ${request.url}`}];
      else answer = route(chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {});
    } catch (error) {
      [status, answer] = [400, {error: error.message}];
    }
    response.writeHead(status, {'content-type': 'application/json'});
    response.end(JSON.stringify(answer));
  });
});

server.listen(settings.port, '127.0.0.1', () => {
  control.listen(settings.controlPort, '127.0.0.1', () => {
    console.log(JSON.stringify({smpp_port: server.address().port, control_port: control.address().port}));
  });
});
