#!/usr/bin/env python3
"""Writes the committed seed corpora of the fuzz targets into seeds/<target>/ (run again after a
change of the frame format or the nf_tables fixtures; needs root, for a network namespace of its
own):

  frame      every kind of request and response frame, as the launcher and the agent send them
  rtnetlink  replies of the kernel, captured in a private network namespace: a link dump and an
             error with an extended ack (each after the two flag bytes the target reads first)
  nf_tables  the byte-exact nf_tables messages of native/core/src/kernel/nft/testdata, one
             datagram per fixture
"""
import os
import socket
import struct
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE / 'seeds'


def write(target: str, name: str, data: bytes) -> None:
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def frame(kind: int, payload: bytes) -> bytes:
    return b'fcni\x02' + bytes([kind]) + struct.pack('>I', len(payload)) + payload


def be_bytes(b: bytes) -> bytes:
    return struct.pack('>I', len(b)) + b


def frames() -> None:
    env = [b'CNI_COMMAND=ADD', b'CNI_CONTAINERID=pod1', b'CNI_NETNS=/var/run/netns/pod1', b'CNI_IFNAME=eth0', b'CNI_PATH=/opt/cni/bin']
    stdin = b'{"cniVersion":"1.1.0","name":"pods","type":"bridge","ipam":{"type":"host-local","subnet":"10.88.0.0/16"}}'
    invoke = struct.pack('>H', 6) + b'bridge' + struct.pack('>I', len(env)) + b''.join(be_bytes(e) for e in env) + be_bytes(stdin)
    write('frame', 'invoke', frame(0x01, invoke))
    write('frame', 'status-request', frame(0x02, b''))
    result = b'{"cniVersion":"1.1.0","interfaces":[{"name":"eth0"}]}'
    write('frame', 'result', frame(0x81, struct.pack('>i', 0) + be_bytes(result) + be_bytes(b'a log line\n')))
    write('frame', 'status-reply', frame(0x82, b'{"uptime":1,"requests":2}'))
    write('frame', 'refused', frame(0x83, b'protocol version 1 is not this agent\'s (2)'))


NLMSG_ERROR, NLMSG_DONE, RTM_NEWLINK, RTM_GETLINK = 2, 3, 16, 18
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
NETLINK_EXT_ACK, SOL_NETLINK = 11, 270


def rtnl_request(ty: int, flags: int, body: bytes) -> bytes:
    return struct.pack('=IHHII', 16 + len(body), ty, flags, 1, 0) + body


def attr(ty: int, value: bytes) -> bytes:
    a = struct.pack('=HH', 4 + len(value), ty) + value
    return a + b'\0' * (-len(a) % 4)


def rtnetlink() -> None:
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    s.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    s.bind((0, 0))
    ifinfo = struct.pack('=BxHiII', 0, 0, 0, 0, 0)
    s.send(rtnl_request(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, ifinfo))
    dump = s.recv(65536)
    write('rtnetlink', 'link-dump', b'\0\0' + dump)
    while struct.unpack_from('=H', dump, 4)[0] != NLMSG_DONE:
        dump = s.recv(65536)
    # A link of a kind the kernel does not know: an NLMSG_ERROR with the kernel's reason as an extended ack.
    linkinfo = attr(18, attr(1, b'no-such-kind\0'))
    s.send(rtnl_request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | 0x400, ifinfo + attr(3, b'fz0\0') + linkinfo))
    err = s.recv(65536)
    flags = struct.unpack_from('=H', err, 6)[0]
    write('rtnetlink', 'error-extack', struct.pack('=H', flags) + err)


def nf_tables() -> None:
    for hexfile in sorted((HERE.parent / 'core/src/kernel/nft/testdata').glob('*.hex')):
        data = b''.join(bytes.fromhex(l.strip()) for l in hexfile.read_text().splitlines() if l.strip())
        write('nf_tables', hexfile.stem, data)


if __name__ == '__main__':
    if os.environ.get('FASTCNI_SEEDS_NETNS') != '1':
        # the kernel replies come from a network namespace of our own, never the machine's
        sys.exit(subprocess.call(['unshare', '-n', sys.executable, __file__], env={**os.environ, 'FASTCNI_SEEDS_NETNS': '1'}))
    frames()
    rtnetlink()
    nf_tables()
