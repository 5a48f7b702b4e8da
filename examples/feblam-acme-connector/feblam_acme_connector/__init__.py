"""`acme-xml`: plate reads of ACME ANPR cameras, one XML document per Kafka message.

    <anprRead xmlns="urn:acme:anpr:2" id="ACME-LEU-12-000042">
      <camera>ACME-LEU-12</camera>
      <captured>2026-03-01T08:15:02.120+01:00</captured>
      <plate country="B">1-ABC-123</plate>
      <confidence scale="1000">913</confidence>
    </anprRead>

`captured` is local time with its UTC offset (FEBLAM's validation turns it into
UTC milliseconds and refuses a time without an offset); `confidence` is an
integer out of `scale` (per mille by default), so 913 becomes 0.913.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from connectors.sources import RejectedPayload, TopicConnector

NS = "{urn:acme:anpr:2}"


class AcmeXmlReads(TopicConnector):
    name = "acme-xml"
    description = "ACME ANPR cameras: XML <anprRead>, local times with an offset, confidence per mille"

    def decode(self, payload: bytes) -> dict:
        try:
            root = ET.fromstring(payload)
        except ET.ParseError as error:
            raise RejectedPayload("MALFORMED", f"not XML: {error}", payload) from None
        if root.tag != f"{NS}anprRead":
            raise RejectedPayload("MALFORMED", f"root element is {root.tag}, not anprRead", payload)
        read_id = root.get("id")
        plate = root.find(f"{NS}plate")
        camera = root.findtext(f"{NS}camera")
        if read_id is None or camera is None or plate is None or plate.text is None:
            raise RejectedPayload("MALFORMED", "id, camera or plate missing", payload, read_id)
        captured = root.findtext(f"{NS}captured")
        if captured is None:
            raise RejectedPayload("BAD_TIMESTAMP", "captured missing", payload, read_id)
        return {
            "read_id": read_id,
            "camera_id": camera.strip(),
            "event_time": captured.strip(),  # ISO-8601 with offset: validated and converted by FEBLAM
            "plate_text": plate.text.strip(),
            "plate_country": plate.get("country"),
            "ocr_confidence": _confidence(root.find(f"{NS}confidence"), payload, read_id),
        }


def _confidence(element, payload: bytes, read_id: str) -> float:
    if element is None:
        raise RejectedPayload("BAD_CONFIDENCE", "confidence missing", payload, read_id)
    try:
        return int(element.text) / int(element.get("scale", "1000"))
    except (TypeError, ValueError, ZeroDivisionError):
        raise RejectedPayload("BAD_CONFIDENCE", f"confidence {element.text!r} is not an integer out of its scale",
                              payload, read_id) from None
