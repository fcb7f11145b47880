"""RFC 4733 (RFC 2833) telephone-event packets as pcap files for SIPp's play_pcap_audio.

Debian's sip-tester ships one pcap per key, but every copy carries the same RTP timestamp, so a
key pressed twice looks to Asterisk like a retransmission of the first press and is dropped.
Here each press gets its own timestamp and sequence numbers (a real phone does the same).
"""

from __future__ import annotations

import struct

EVENT_CODES = {**{str(d): d for d in range(10)}, "*": 10, "#": 11}
PAYLOAD_TYPE = 101          # as offered in our SDP (a=rtpmap:101 telephone-event/8000)
SSRC = 0x4C696E65
PACKET_MS = 20
TONE_PACKETS = 5            # 100 ms of tone
END_REPEATS = 3             # the end packet is sent three times (RFC 4733 2.5.1.4)


def _udp_frame(payload: bytes, src_port: int = 40000, dst_port: int = 10000) -> bytes:
    udp = struct.pack("!HHHH", src_port, dst_port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
    ethernet = b"\x00" * 12 + b"\x08\x00"
    return ethernet + ip + udp


def dtmf_pcap(digit: str, *, press: int) -> bytes:
    """One key press as a pcap; `press` (0, 1, 2...) makes its RTP timestamp and seq unique."""
    if digit not in EVENT_CODES:
        raise ValueError(f"no telephone-event for {digit!r}")
    timestamp = 8000 + press * 16000           # 2 s of RTP clock between presses
    seq = 1000 + press * (TONE_PACKETS + END_REPEATS)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i in range(TONE_PACKETS + END_REPEATS):
        end = i >= TONE_PACKETS
        duration = 160 * (min(i, TONE_PACKETS - 1) + 1)
        event = struct.pack("!BBH", EVENT_CODES[digit], (0x80 if end else 0) | 10, duration)
        marker = 0x80 if i == 0 else 0
        rtp = struct.pack("!BBHII", 0x80, marker | PAYLOAD_TYPE, (seq + i) & 0xFFFF, timestamp,
                          SSRC) + event
        frame = _udp_frame(rtp)
        usec = i * PACKET_MS * 1000
        out.append(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame),
                               len(frame)) + frame)
    return b"".join(out)
