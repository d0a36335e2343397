#!/usr/bin/env python3
"""A PXE firmware's DHCP exchange, as the network tests need to see it.

Broadcasts one DHCPDISCOVER from --mac with the PXE vendor class, client
architecture and UUID (and iPXE's options 77 and 175 with --ipxe), and prints
every answer from every server as JSON: a site DHCP server's offer and a
proxyDHCP server's boot offer arrive side by side. With --server it instead
sends what a BIOS PXE ROM sends next in proxyDHCP: a DHCPREQUEST for boot
server type 0x8000 to port 4011 of that server, from --ciaddr.

Standard library only; a real client such as udhcpc takes one offer and
drops the rest, which hides exactly what a proxyDHCP test must check."""
import argparse, json, os, socket, struct, sys, time

def options(data):
    out, i = {}, 0
    while i < len(data):
        code = data[i]
        if code == 255: break
        if code == 0: i += 1; continue
        n = data[i + 1]
        out[code] = data[i + 2:i + 2 + n]
        i += 2 + n
    return out

def text(b):
    return b.split(b"\0", 1)[0].decode("latin-1")

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--iface", required=True)
    p.add_argument("--mac", required=True)
    p.add_argument("--arch", type=int, default=0)
    p.add_argument("--ipxe", action="store_true")
    p.add_argument("--vendor-class", help="option 60 (default: PXEClient:Arch:<arch>:UNDI:002001; UEFI HTTP Boot sends HTTPClient:Arch:00016:UNDI:003001)")
    p.add_argument("--wait", type=float, default=3.0, help="seconds to collect answers")
    p.add_argument("--expect", type=int, default=0, help="stop once this many answers arrived")
    p.add_argument("--server", help="send a PXE boot server request to this address, port 4011, from --ciaddr")
    p.add_argument("--ciaddr", default="0.0.0.0")
    a = p.parse_args()
    mac = bytes(int(x, 16) for x in a.mac.split(":"))
    xid = os.getpid() & 0xffffffff
    opts = [(53, bytes([3 if a.server else 1])), (57, struct.pack("!H", 1472)),
            (60, a.vendor_class.encode() if a.vendor_class else b"PXEClient:Arch:%05d:UNDI:002001" % a.arch), (93, struct.pack("!H", a.arch)),
            (94, bytes([1, 2, 1])), (97, bytes([0]) + mac + bytes(10)),
            (55, bytes([1, 3, 6, 12, 43, 60, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135, 175]))]
    if a.ipxe:
        opts += [(77, b"iPXE"), (175, bytes([0xb1, 1, 1, 0x13, 1, 1]))]
    if a.server:
        # Boot server discovery: the PXE boot item 8 (type 1, layer 0) as a BIOS ROM asks.
        opts.append((43, bytes([71, 4, 0x80, 0x00, 0, 0, 255])))
    body = b"".join(bytes([c, len(v)]) + v for c, v in opts) + b"\xff"
    ciaddr = socket.inet_aton(a.ciaddr)
    packet = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0 if a.server else 0x8000,
                         ciaddr, bytes(4), bytes(4), bytes(4), mac, b"", b"") + b"\x63\x82\x53\x63" + body
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, a.iface.encode())
    if a.server:
        s.bind((a.ciaddr, 68))
        s.sendto(packet, (a.server, 4011))
    else:
        s.bind(("0.0.0.0", 68))
        s.sendto(packet, ("255.255.255.255", 67))
    answers, deadline = [], time.time() + a.wait
    while True:
        left = deadline - time.time()
        if left <= 0: break
        s.settimeout(left)
        try:
            data, peer = s.recvfrom(4096)
        except socket.timeout:
            break
        if len(data) < 240 or data[0] != 2 or struct.unpack("!I", data[4:8])[0] != xid: continue
        o = options(data[240:])
        ans = {"from": peer[0], "yiaddr": socket.inet_ntoa(data[16:20]), "siaddr": socket.inet_ntoa(data[20:24]),
               "file": text(data[108:236]), "sname": text(data[44:108]),
               "type": o.get(53, b"\0")[0], "options": {str(k): v.hex() for k, v in sorted(o.items())}}
        if 54 in o: ans["server_id"] = socket.inet_ntoa(o[54])
        if 60 in o: ans["vendor_class"] = o[60].decode("latin-1")
        if 67 in o: ans["bootfile_option"] = text(o[67])
        if 12 in o: ans["hostname"] = o[12].decode("latin-1")
        if 43 in o: ans["pxe"] = {str(k): v.hex() for k, v in options(o[43]).items()}
        answers.append(ans)
        if a.expect and len(answers) >= a.expect: break
    json.dump(answers, sys.stdout, indent=1)
    print()

main()
