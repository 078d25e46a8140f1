"""What a paged officer reads and hears: short, in Hindi and English, no personal data.

A message names the category, the station, the alert number, why it reached this officer, a
console link and the code to acknowledge by SMS. Never the subject, their phones or the post.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dispatch.alerts.models import Alert


class Reason(StrEnum):
    """Why a level fired; shown on the timeline and told to the officer."""

    new = "new"
    unacknowledged = "unacknowledged"
    repeat = "repeat"
    handover = "handover"
    stalled_en_route = "stalled_en_route"
    stalled_on_scene = "stalled_on_scene"


CATEGORY: dict[str, tuple[str, str]] = {
    "suicide_risk": ("suicide risk", "आत्महत्या का खतरा"),
    "self_harm": ("self-harm", "आत्म-क्षति"),
    "threat_to_others": ("threat to others", "दूसरों को खतरा"),
    "other": ("crisis", "संकट"),
}


@dataclass(frozen=True)
class Texts:
    """The same message as SMS/WhatsApp text and as speech, in both languages."""

    text_en: str
    text_hi: str
    speech_en: str
    speech_hi: str

    def text(self, language: str) -> str:
        """The written message in the contact's language."""
        return self.text_hi if language == "hi" else self.text_en


def _why(reason: Reason, minutes: int, level: int) -> tuple[str, str]:
    if reason is Reason.new:
        return "New alert", "नया अलर्ट"
    if reason is Reason.handover:
        return "Alert handed over to this station", "अलर्ट इस थाने को सौंपा गया"
    if reason is Reason.stalled_en_route:
        return (
            f"Acknowledged {minutes} min ago but no unit en route (level {level})",
            f"{minutes} मिनट पहले स्वीकार, पर कोई टीम रवाना नहीं (स्तर {level})",
        )
    if reason is Reason.stalled_on_scene:
        return (
            f"Acknowledged {minutes} min ago but no unit on scene (level {level})",
            f"{minutes} मिनट पहले स्वीकार, पर कोई टीम मौके पर नहीं (स्तर {level})",
        )
    return (
        f"NOT acknowledged for {minutes} min, escalated to you (level {level})",
        f"{minutes} मिनट से स्वीकार नहीं, आपको भेजा गया (स्तर {level})",
    )


def alert_texts(
    *,
    alert: Alert,
    reason: Reason,
    level: int,
    minutes: int,
    link: str | None,
    ack_code: str | None,
    drill: bool,
) -> Texts:
    """The four texts for one level of one alert."""
    cat_en, cat_hi = CATEGORY.get(alert.category, CATEGORY["other"])
    station = alert.station_name or alert.station_id or "unresolved (state cell queue)"
    district = alert.district or "-"
    why_en, why_hi = _why(reason, minutes, level)
    tag_en, tag_hi = ("[DRILL] ", "[अभ्यास] ") if drill else ("", "")
    open_en = f" Open {link}" if link else ""
    open_hi = f" देखें {link}" if link else ""
    ack_en = f" or reply ACK {ack_code}" if ack_code else ""
    ack_hi = f" या जवाब दें ACK {ack_code}" if ack_code else ""
    return Texts(
        text_en=(
            f"{tag_en}CRISIS ALERT #{alert.id}: {cat_en}, PS {station}, {district}. "
            f"{why_en}.{open_en}{ack_en}"
        ),
        text_hi=(
            f"{tag_hi}संकट अलर्ट #{alert.id}: {cat_hi}, थाना {station}, {district}. "
            f"{why_hi}।{open_hi}{ack_hi}"
        ),
        speech_en=(
            f"{tag_en}Crisis alert number {alert.id}: {cat_en}. Police station {station}, "
            f"district {district}. {why_en}. Press 1 to acknowledge."
        ),
        speech_hi=(
            f"{tag_hi}संकट अलर्ट संख्या {alert.id}: {cat_hi}। थाना {station}, जिला {district}। "
            f"{why_hi}। स्वीकार करने के लिए 1 दबाएँ।"
        ),
    )


def alert_link(template: str, base_url: str, alert_id: int) -> str | None:
    """The console link for an alert (None without a public base URL)."""
    if not base_url:
        return None
    return template.format(base_url=base_url.rstrip("/"), alert_id=alert_id)
