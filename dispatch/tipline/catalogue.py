"""Every text the bot sends, in Hindi and English, and the words each menu accepts."""

from __future__ import annotations

import re
import unicodedata

from dispatch.tipline.models import Category

LANGUAGES = ("hi", "en")

# (English label, Hindi label, extra words accepted)
CATEGORIES: dict[Category, tuple[str, str, tuple[str, ...]]] = {
    Category.cow_smuggling: (
        "Cow smuggling / slaughter",
        "गो तस्करी / गोकशी",
        ("cow", "gau", "go taskari", "gokashi", "गाय", "गोवंश", "गोकशी", "गो तस्करी"),
    ),
    Category.drugs: (
        "Illegal drugs, liquor, hookah bars",
        "अवैध नशा, शराब, हुक्का बार",
        ("drugs", "liquor", "hookah", "sharab", "nasha", "शराब", "नशा", "हुक्का", "स्मैक"),
    ),
    Category.arms: (
        "Illegal arms (manufacture, supply, sale)",
        "अवैध हथियार (निर्माण, आपूर्ति, बिक्री)",
        ("arms", "weapons", "hathiyar", "katta", "हथियार", "असलहा", "कट्टा"),
    ),
    Category.gambling: (
        "Gambling / betting",
        "जुआ / सट्टा",
        ("gambling", "betting", "satta", "jua", "जुआ", "सट्टा"),
    ),
    Category.trafficking: (
        "Prostitution, women and child trafficking, illegal spas",
        "देह व्यापार, महिला एवं बाल तस्करी, अवैध स्पा",
        ("prostitution", "trafficking", "spa", "देह व्यापार", "मानव तस्करी", "स्पा"),
    ),
    Category.eve_teasing: (
        "Eve-teasing hotspots",
        "छेड़खानी के स्थान",
        ("eve-teasing", "eve teasing", "chhedkhani", "छेड़खानी", "छेड़छाड़"),
    ),
    Category.mining: (
        "Illegal mining / overloaded vehicles",
        "अवैध खनन / ओवरलोड वाहन",
        ("mining", "overloaded", "overload", "khanan", "खनन", "ओवरलोड"),
    ),
    Category.corruption: (
        "Extortion / police corruption",
        "वसूली / पुलिस भ्रष्टाचार",
        ("extortion", "corruption", "bribe", "vasooli", "rishwat", "वसूली", "भ्रष्टाचार", "रिश्वत"),
    ),
    Category.conversion: (
        "Forced religious conversion",
        "जबरन धर्म परिवर्तन",
        ("conversion", "dharm parivartan", "धर्म परिवर्तन", "धर्मांतरण"),
    ),
    Category.other: ("Other", "अन्य", ("other", "anya", "अन्य")),
}

STATUS_TEXT = {
    "new": ("received, waiting to be looked at", "प्राप्त हुई, जाँच की प्रतीक्षा में"),
    "assigned": ("being looked into", "जाँच की जा रही है"),
    "action_taken": ("action has been taken", "कार्रवाई की जा चुकी है"),
    "closed": ("closed", "बंद"),
}

# key -> (English, Hindi). `{...}` fields are filled by say().
TEXTS: dict[str, tuple[str, str]] = {
    "welcome": (
        "Welcome to Police Satark Mitra, the anonymous tip line of the Varanasi range police. "
        "Your number is never shared with the police.",
        "पुलिस सतर्क मित्र में आपका स्वागत है, वाराणसी परिक्षेत्र पुलिस की गुमनाम सूचना सेवा। "
        "आपका नंबर पुलिस को कभी नहीं दिया जाता।",
    ),
    "ask_language": (
        "Choose a language / भाषा चुनें:\n1. हिंदी\n2. English",
        "भाषा चुनें / Choose a language:\n1. हिंदी\n2. English",
    ),
    "ask_category": (
        "What is your tip about? Reply with a number:",
        "आपकी सूचना किस बारे में है? नंबर भेजें:",
    ),
    "ask_district": ("Which district? Reply with a number:", "कौन सा जनपद? नंबर भेजें:"),
    "ask_place": (
        "Where is it happening? Write the village, area or landmark, or share a location "
        "(📎 > Location).",
        "यह कहाँ हो रहा है? गाँव, मोहल्ला या पहचान का स्थान लिखें, या लोकेशन भेजें (📎 > लोकेशन)।",
    ),
    "ask_description": (
        "Describe what you saw: what, who, when. Do not write your own name or number.",
        "आपने क्या देखा, बताएं: क्या, कौन, कब। अपना नाम या नंबर न लिखें।",
    ),
    "ask_media": (
        "You can now send photos, videos, voice notes or more text (several messages). "
        "Send DONE when finished.",
        "अब आप फोटो, वीडियो, वॉइस नोट या और जानकारी भेज सकते हैं (कई संदेश)। "
        "पूरा होने पर DONE (हो गया) भेजें।",
    ),
    "media_received": (
        "Received ({count} so far). Send more, or DONE.",
        "प्राप्त हुआ (अब तक {count})। और भेजें, या DONE।",
    ),
    "text_added": ("Added. Send more, or DONE.", "जोड़ दिया गया। और भेजें, या DONE।"),
    "confirm": (
        "Please check your tip:\nCategory: {category}\nDistrict: {district}\nPlace: {place}\n"
        "Description: {description}\nAttachments: {media}\n\n1. Send\n2. Start again",
        "कृपया अपनी सूचना जाँचें:\nश्रेणी: {category}\nजनपद: {district}\nस्थान: {place}\n"
        "विवरण: {description}\nसंलग्नक: {media}\n\n1. भेजें\n2. फिर से शुरू करें",
    ),
    "submitted": (
        "Thank you. Your tip has been sent to the SP office. Your reference is {ref}. "
        "Send STATUS {ref} at any time to check it, or ADD {ref} to add information. "
        "Your number has not been shared.",
        "धन्यवाद। आपकी सूचना एसपी कार्यालय को भेज दी गई है। आपका संदर्भ नंबर {ref} है। "
        "स्थिति जानने के लिए कभी भी STATUS {ref} भेजें, या जानकारी जोड़ने के लिए ADD {ref}। "
        "आपका नंबर किसी को नहीं दिया गया।",
    ),
    "cancelled": (
        "Cancelled. Nothing was sent. Send any message to start again.",
        "रद्द कर दिया गया। कुछ नहीं भेजा गया। फिर से शुरू करने के लिए कोई भी संदेश भेजें।",
    ),
    "expired": (
        "Your unfinished tip was discarded after {minutes} minutes without a reply. "
        "Send any message to start again.",
        "{minutes} मिनट तक उत्तर न मिलने से आपकी अधूरी सूचना हटा दी गई। "
        "फिर से शुरू करने के लिए कोई भी संदेश भेजें।",
    ),
    "help": (
        "Help: reply with the number or word of your choice. BACK goes one step back, CANCEL "
        "discards this tip, STATUS <reference> shows a tip's status, ADD <reference> adds "
        "information to a tip you sent. Your number is never shared with the police.",
        "सहायता: अपनी पसंद का नंबर या शब्द भेजें। BACK (वापस) एक कदम पीछे, CANCEL (रद्द) यह "
        "सूचना हटाता है, STATUS <संदर्भ> सूचना की स्थिति, ADD <संदर्भ> भेजी गई सूचना में "
        "जानकारी जोड़ता है। आपका नंबर पुलिस को कभी नहीं दिया जाता।",
    ),
    "invalid_choice": (
        "Please reply with one of the numbers shown.",
        "कृपया दिखाए गए नंबरों में से एक भेजें।",
    ),
    "invalid_place": (
        "Please write the place in a few words, or share a location.",
        "कृपया स्थान कुछ शब्दों में लिखें, या लोकेशन भेजें।",
    ),
    "invalid_description": (
        "Please describe it in at least a few words (10 letters or more).",
        "कृपया कम से कम कुछ शब्दों में बताएं (10 अक्षर या अधिक)।",
    ),
    "invalid_media": (
        "Send a photo, video, voice note or more text, or DONE to finish.",
        "फोटो, वीडियो, वॉइस नोट या और जानकारी भेजें, या पूरा करने के लिए DONE।",
    ),
    "location_outside": (
        "That location is not in {district} district. Write the place instead, or share "
        "another location.",
        "यह लोकेशन {district} जनपद में नहीं है। स्थान लिखें, या दूसरी लोकेशन भेजें।",
    ),
    "location_noted": ("Location noted.", "लोकेशन दर्ज की गई।"),
    "media_refused": (
        "This file could not be accepted ({reason}). Photos (JPEG, PNG), MP4 videos and voice "
        "notes up to {max_mb} MB are accepted.",
        "यह फ़ाइल स्वीकार नहीं की जा सकी ({reason})। {max_mb} MB तक के फोटो (JPEG, PNG), MP4 "
        "वीडियो और वॉइस नोट स्वीकार हैं।",
    ),
    "media_not_now": (
        "Please answer the question first; you can send photos and videos after the description.",
        "कृपया पहले प्रश्न का उत्तर दें; विवरण के बाद आप फोटो और वीडियो भेज सकते हैं।",
    ),
    "status": ("Tip {ref}: {status}.", "सूचना {ref}: {status}।"),
    "status_unknown": (
        "No tip {ref} was sent from this number.",
        "इस नंबर से {ref} नाम की कोई सूचना नहीं भेजी गई।",
    ),
    "add_start": (
        "Send the new information for {ref} (text, photos, videos, voice notes). Send DONE "
        "when finished.",
        "{ref} के लिए नई जानकारी भेजें (टेक्स्ट, फोटो, वीडियो, वॉइस नोट)। पूरा होने पर DONE भेजें।",
    ),
    "add_done": (
        "Thank you, the new information was added to {ref}.",
        "धन्यवाद, नई जानकारी {ref} में जोड़ दी गई।",
    ),
    "action_taken": (
        "Police Satark Mitra: action has been taken on your tip {ref}. Thank you for your help.",
        "पुलिस सतर्क मित्र: आपकी सूचना {ref} पर कार्रवाई की गई है। आपकी सहायता के लिए धन्यवाद।",
    ),
    "rate_limited": (
        "You have sent many messages. Please wait a few minutes and try again.",
        "आपने बहुत सारे संदेश भेजे हैं। कृपया कुछ मिनट रुककर फिर प्रयास करें।",
    ),
    "none": ("none", "कोई नहीं"),
    "shared_location": ("shared location", "भेजी गई लोकेशन"),
}

# Words the bot understands at every step, after normalise().
BACK = {"back", "b", "wapas", "vapas", "peeche", "वापस", "पीछे"}
CANCEL = {"cancel", "stop", "radd", "band", "रद्द", "बंद", "रद्द करें"}
HELP = {"help", "madad", "sahayata", "?", "मदद", "सहायता"}
DONE = {"done", "finish", "finished", "ho gaya", "hogaya", "bas", "skip", "हो गया", "बस"}
YES = {"yes", "y", "haan", "han", "ha", "send", "bhejen", "हाँ", "हां", "भेजें"}
NO = {"no", "n", "nahin", "nahi", "again", "restart", "नहीं", "फिर से शुरू करें"}
HINDI = {"hindi", "हिंदी", "हिन्दी"}
ENGLISH = {"english", "angrezi", "अंग्रेजी", "अंग्रेज़ी"}

REF_PATTERN = re.compile(r"\bT-?([A-Z2-9]{4})\b", re.IGNORECASE)


def normalise(text: str) -> str:
    """Lower-case, NFC, collapsed spaces, without trailing punctuation: how menus compare."""
    value = unicodedata.normalize("NFC", text).strip().lower()
    value = re.sub(r"\s+", " ", value)
    return value.strip(" .!।")


def say(key: str, language: str | None, **fields: object) -> str:
    """The text for key in the language (both, Hindi first, before a language is chosen)."""
    english, hindi = TEXTS[key]
    if language == "en":
        return english.format(**fields)
    if language == "hi":
        return hindi.format(**fields)
    return hindi.format(**fields) + "\n\n" + english.format(**fields)


def category_label(category: str, language: str | None) -> str:
    """A category's name in the language."""
    english, hindi, _ = CATEGORIES[Category(category)]
    return hindi if language == "hi" else english


def category_menu(language: str | None) -> str:
    """The numbered category question."""
    lines = [say("ask_category", language)]
    for number, category in enumerate(CATEGORIES, start=1):
        lines.append(f"{number}. {category_label(category, language)}")
    return "\n".join(lines)


def district_menu(language: str | None, districts: list[str], names_hi: dict[str, str]) -> str:
    """The numbered district question."""
    lines = [say("ask_district", language)]
    for number, district in enumerate(districts, start=1):
        label = names_hi.get(district, district) if language == "hi" else district
        lines.append(f"{number}. {label}")
    return "\n".join(lines)


def status_label(status: str, language: str | None) -> str:
    """A tip status as the informant reads it (never who handles it)."""
    english, hindi = STATUS_TEXT.get(status, STATUS_TEXT["new"])
    return hindi if language == "hi" else english


DISTRICT_HI = {
    "Jaunpur": "जौनपुर",
    "Ghazipur": "गाजीपुर",
    "Chandauli": "चंदौली",
    "Varanasi": "वाराणसी",
}
