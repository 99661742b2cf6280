"""kitdns - the captive portal's DNS catch-all: every A query gets the access point's address.

Phones and laptops that join the portal's access point look up their connectivity-check host
names; answering each A query with the board's own address sends those checks (and every other
page the user opens) to the setup page. Queries for other record types get an empty answer;
anything that is not one well-formed query is dropped without a reply::

    import kitdns
    task = kitdns.start('192.168.4.1')           # UDP port 53 on every interface
    ...
    kitdns.stop(task)

:func:`answer` builds the reply for one packet and is all the logic there is; :func:`serve`
only moves datagrams. It imports no other kit module (middle layer of src/kit/: used by
:mod:`kitportal`).
"""
import asyncio
import socket

PORT = 53
TTL = 60  # seconds clients may cache the answer
MAX_PACKET = 512  # classic DNS over UDP

_T_A = 1
_T_ANY = 255


def _question_end(packet):
    """Offset just past the question's QTYPE/QCLASS, or -1 when the name is malformed."""
    i = 12
    total = 0
    n = len(packet)
    while True:
        if i >= n:
            return -1
        size = packet[i]
        if size == 0:
            i += 1
            break
        if size > 63:  # compression pointers or reserved label types: not in a question
            return -1
        total += size + 1
        if total > 254:
            return -1
        i += size + 1
    if i + 4 > n:
        return -1
    return i + 4


def answer(packet, ip):
    """The reply to one DNS query, or None when the packet must be dropped.

    ``ip`` is the dotted address every A (and ANY) query is answered with.
    """
    if len(packet) < 17 or len(packet) > MAX_PACKET:
        return None
    flags = packet[2]
    if flags & 0xf8:  # a response (QR) or an opcode other than a standard query
        return None
    if packet[4] or packet[5] != 1:  # exactly one question
        return None
    end = _question_end(packet)
    if end < 0:
        return None
    qtype = packet[end - 4] << 8 | packet[end - 3]
    qclass = packet[end - 2] << 8 | packet[end - 1]
    try:
        addr = bytes(int(p) for p in ip.split('.'))
    except ValueError:
        return None
    found = (qtype == _T_A or qtype == _T_ANY) and (qclass == 1 or qclass == 255) and len(addr) == 4
    head = bytearray(packet[:12])
    head[2] = 0x84 | (flags & 0x01)  # response, authoritative, RD copied
    head[3] = 0x80  # recursion available, NOERROR
    head[6] = 0
    head[7] = 1 if found else 0
    head[8] = head[9] = head[10] = head[11] = 0  # no authority / additional records
    out = bytes(head) + packet[12:end]
    if found:
        out += b'\xc0\x0c\x00\x01\x00\x01' + TTL.to_bytes(4, 'big') + b'\x00\x04' + addr
    return out


def _sock(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(socket.getaddrinfo(host, port)[0][-1])
    s.setblocking(False)
    return s


try:
    from asyncio import core as _core  # MicroPython: wait on the socket itself
    _io = _core._io_queue
except ImportError:  # CPython: poll
    _io = None

if _io is not None:
    async def _readable(s):
        yield _io.queue_read(s)
else:
    async def _readable(s):
        await asyncio.sleep(0.02)


async def serve(ip, port=PORT, host='0.0.0.0', sock=None):
    """Answer queries on UDP ``port`` until cancelled."""
    s = sock or _sock(host, port)
    try:
        while True:
            await _readable(s)
            try:
                packet, peer = s.recvfrom(MAX_PACKET + 1)
            except OSError:
                continue  # nothing there yet (CPython polling) or a transient error
            reply = answer(packet, ip)
            if reply is not None:
                try:
                    s.sendto(reply, peer)
                except OSError:
                    pass
    finally:
        s.close()


def start(ip, port=PORT, host='0.0.0.0'):
    """Bind now (so a busy port fails here) and answer in a background task."""
    return asyncio.create_task(serve(ip, port, host, _sock(host, port)))


def stop(task):
    task.cancel()
