"""The pieces the stack generates: Asterisk configuration, prompts, SIPp scenarios."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from app.prompts import Catalog, build, load_catalog
from phones.sipp import Caller, Pause, Press, Speak, caller_scenario, keys
from stack.asterisk import TEMPLATES, render


def test_every_asterisk_template_renders_with_the_instance_values():
    values = dict(instance_dir="/srv/hotline/t", module_dir="/m", http_host="127.0.0.1",
                  ari_port=1, ari_user="u", ari_password="p", ari_app="hotline",
                  sip_host="127.0.0.1", sip_port=2, rtp_start=3, rtp_end=4, trunk_match="127.0.0.1",
                  prompt_dir="/srv/hotline/t/prompts", fallback_tries=5, fallback_ring_seconds=15,
                  fallback_language="zh", fallback_message_seconds=120)
    for template in TEMPLATES.glob("*.conf"):
        text = render(template.read_text(), values)
        assert "{{" not in text, template.name
    ari = render((TEMPLATES / "ari.conf").read_text(), values)
    assert "password = p" in ari


def test_the_trunk_is_identified_by_its_address_alone_and_refusals_are_logged():
    """#20, R20: a From naming `trunk` from elsewhere must not be the trunk."""
    pjsip = (TEMPLATES / "pjsip.conf").read_text()
    trunk = pjsip.split("[trunk]", 1)[1].split("\n[", 1)[0]
    assert "identify_by = ip" in trunk and "auth" not in trunk
    assert "security.log => security" in (TEMPLATES / "logger.conf").read_text()
    assert "load => res_security_log.so" in (TEMPLATES / "modules.conf").read_text()


def test_a_probe_scenario_is_valid_xml_and_acks_a_refusal():
    from phones.sipp import probe_scenario

    root = ET.fromstring(probe_scenario("trunk"))
    assert {r.get("response") for r in root.iter("recv")} >= {"401", "403", "200"}
    with pytest.raises(ValueError):
        probe_scenario("a b")


def test_a_placeholder_without_a_value_is_an_error_not_a_blank():
    with pytest.raises(KeyError, match="ari_password"):
        render("password = {{ari_password}}", {})


def test_dialplan_sends_numbers_to_stasis_but_not_asterisks_own_h_extension():
    text = (TEMPLATES / "extensions.conf").read_text()
    assert "Stasis({{ari_app}},inbound)" in text
    assert "a-z" not in text and "A-Z" not in text


def test_shipped_prompt_catalog_has_every_prompt_in_mandarin_and_english():
    catalog = load_catalog()
    assert set(catalog.voices) == {"zh", "en"}
    assert {"thanks", "technical_problem", "queue_unavailable"} <= set(catalog.prompts)


def test_a_prompt_missing_a_language_is_refused():
    with pytest.raises(ValueError, match="no text for"):
        Catalog(voices={"zh": "cmn", "en": "en"}, prompts={"greeting": {"zh": "您好"}})


def test_prompts_are_synthesised_as_8khz_mono_wav_and_not_remade_when_unchanged(tmp_path: Path):
    catalog = Catalog(voices={"zh": "cmn", "en": "en"},
                      prompts={"greeting": {"zh": "您好", "en": "Hello"}})
    made = build(tmp_path, catalog)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in made) == [
        "en/greeting.wav", "zh/greeting.wav"]
    info = subprocess.run(["soxi", str(tmp_path / "zh/greeting.wav")], capture_output=True,
                          text=True, check=True).stdout
    assert "Sample Rate    : 8000" in info and "Channels       : 1" in info
    assert build(tmp_path, catalog) == []


def test_caller_scenario_is_valid_xml_and_presses_the_keys_in_order():
    xml = caller_scenario(Caller(script=keys("1 0#"), hangup_after_ms=9000))
    root = ET.fromstring(xml)
    pcaps = [e.get("play_pcap_audio") for e in root.iter("exec") if e.get("play_pcap_audio")]
    assert [Path(p).name for p in pcaps] == ["dtmf_2833_1.pcap", "dtmf_2833_0.pcap",
                                             "dtmf_2833_pound.pcap"]
    assert root.find("recv[@request='BYE']").get("ontimeout") == "hangup"


def test_a_speaking_caller_plays_audio_and_its_script_counts_towards_the_hangup():
    caller = Caller(script=(Pause(1000), Speak(), *keys("#", first_after_ms=0, gap_ms=500)),
                    hangup_after_ms=10_000)
    root = ET.fromstring(caller_scenario(caller))
    pcaps = [Path(e.get("play_pcap_audio")).name for e in root.iter("exec")
             if e.get("play_pcap_audio")]
    assert pcaps == ["g711a.pcap", "dtmf_2833_pound.pcap"]
    assert caller.script_ms == 1000 + 4800 + 500
    assert root.find("recv[@request='BYE']").get("timeout") == str(10_000 - 6300)


@pytest.mark.parametrize("kwargs", [dict(script=(Press("x"),)), dict(dialed="95;000"),
                                    dict(number="138 0013")])
def test_caller_refuses_what_it_cannot_dial(kwargs):
    with pytest.raises(ValueError):
        Caller(**kwargs)


def test_each_key_press_gets_its_own_rtp_timestamp_so_repeated_keys_are_not_dropped():
    import struct

    from phones.dtmf import dtmf_pcap

    def rtp_headers(pcap: bytes) -> list[tuple[int, int, int, bool]]:
        out, off = [], 24
        while off < len(pcap):
            length = struct.unpack("<IIII", pcap[off:off + 16])[2]
            frame = pcap[off + 16:off + 16 + length]
            rtp = frame[14 + 20 + 8:]
            _, pt, seq, timestamp = struct.unpack("!BBHI", rtp[:8])
            event, flags = rtp[12], rtp[13]
            out.append((event, seq, timestamp, bool(flags & 0x80)))
            off += 16 + length
        return out

    first, second = rtp_headers(dtmf_pcap("7", press=0)), rtp_headers(dtmf_pcap("7", press=1))
    assert {p[0] for p in first} == {7}
    assert len({p[2] for p in first}) == 1 and first[-1][3]  # one event, ended
    assert first[0][2] != second[0][2]  # a new press, not a retransmission
    assert second[0][1] > first[-1][1]  # sequence numbers go on
    assert rtp_headers(dtmf_pcap("#", press=0))[0][0] == 11
